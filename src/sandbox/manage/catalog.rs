//! What the simulated WeChat knows before any account does anything: its service-category
//! tree, its plugin catalogue, the privacy-sensitive JS interfaces that must be applied
//! for, the privacy guide's `privacy_key`s and the ICP filing statuses. Pure data.
//!
//! The category tree is a small, realistic excerpt in WeChat's shape (reference §3.5); its
//! ids are the sandbox's own, not WeChat's. The plugin catalogue holds the plugin the
//! seed documents need (微信同声传译, `wx069ba97219f66d99`) and a few others.

/// A second-level service category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecondCategory {
    pub id: i64,
    pub name: &'static str,
    pub name_en: &'static str,
    /// `sensitive_type` 1: qualification material (`certicates`) is required and the
    /// category is reviewed.
    pub qualification: Option<Qualification>,
    /// Whether an approved category of this kind lets the account apply for the location
    /// interfaces (`get_privacy_interface` status 2 otherwise).
    pub allows_location: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Qualification {
    pub name: &'static str,
    pub remark: &'static str,
}

impl SecondCategory {
    pub fn sensitive_type(&self) -> i32 {
        i32::from(self.qualification.is_some())
    }
}

/// A first-level service category and its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstCategory {
    pub id: i64,
    pub name: &'static str,
    pub name_en: &'static str,
    pub children: &'static [SecondCategory],
}

const fn plain(id: i64, name: &'static str, name_en: &'static str) -> SecondCategory {
    SecondCategory { id, name, name_en, qualification: None, allows_location: true }
}

pub const CATEGORIES: &[FirstCategory] = &[
    FirstCategory {
        id: 7,
        name: "IT科技",
        name_en: "IT & Technology",
        children: &[
            plain(70, "软件服务提供商", "Software Service Provider"),
            plain(71, "硬件与设备", "Hardware & Devices"),
        ],
    },
    FirstCategory {
        id: 304,
        name: "商家自营",
        name_en: "Merchant Self-operated",
        children: &[
            plain(305, "服装/内衣", "Apparel & Underwear"),
            plain(306, "百货", "Department Store"),
            SecondCategory {
                id: 307,
                name: "食品",
                name_en: "Food",
                qualification: Some(Qualification {
                    name: "食品经营许可证",
                    remark: "请提供《食品经营许可证》或《食品生产许可证》",
                }),
                allows_location: true,
            },
        ],
    },
    FirstCategory {
        id: 8,
        name: "教育服务",
        name_en: "Education",
        children: &[SecondCategory {
            id: 39,
            name: "在线教育",
            name_en: "Online Education",
            qualification: Some(Qualification {
                name: "办学许可证",
                remark: "请提供《办学许可证》或教育主管部门的相关批文",
            }),
            allows_location: true,
        }],
    },
    FirstCategory {
        id: 632,
        name: "餐饮服务",
        name_en: "Catering",
        children: &[plain(633, "餐饮供应链", "Catering Supply Chain")],
    },
    FirstCategory {
        id: 10,
        name: "工具",
        name_en: "Tools",
        children: &[SecondCategory {
            id: 100,
            name: "信息查询",
            name_en: "Information Query",
            qualification: None,
            allows_location: false,
        }],
    },
];

/// The category `first > second`, when `second` is a child of `first`.
pub fn category(first: i64, second: i64) -> Option<(&'static FirstCategory, &'static SecondCategory)> {
    let f = CATEGORIES.iter().find(|f| f.id == first)?;
    let s = f.children.iter().find(|s| s.id == second)?;
    Some((f, s))
}

/// A category by its names (Chinese or English, case-insensitive) or its ids as text.
pub fn category_by_name(first: &str, second: &str) -> Option<(&'static FirstCategory, &'static SecondCategory)> {
    let (first, second) = (first.trim(), second.trim());
    let matches = |text: &str, id: i64, zh: &str, en: &str| {
        text == zh || text.eq_ignore_ascii_case(en) || text.parse::<i64>().is_ok_and(|n| n == id)
    };
    CATEGORIES
        .iter()
        .filter(|f| matches(first, f.id, f.name, f.name_en))
        .find_map(|f| f.children.iter().find(|s| matches(second, s.id, s.name, s.name_en)).map(|s| (f, s)))
}

/// A plugin WeChat knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plugin {
    pub appid: &'static str,
    pub nickname: &'static str,
    pub nickname_en: &'static str,
    /// 89236 when false: the plugin is not open to applications.
    pub open: bool,
}

impl Plugin {
    pub fn headimgurl(&self) -> String {
        format!("https://wx.qlogo.cn/mmhead/sandbox/plugin/{}/0", self.appid)
    }
}

pub const PLUGINS: &[Plugin] = &[
    Plugin {
        appid: "wx069ba97219f66d99",
        nickname: "微信同声传译",
        nickname_en: "WeChat real-time translation",
        open: true,
    },
    Plugin {
        appid: "wx76a9a06e5b4e693e",
        nickname: "腾讯位置服务地图选点",
        nickname_en: "Tencent Maps location picker",
        open: true,
    },
    Plugin {
        appid: "wx2b03c6e691cd7370",
        nickname: "小程序直播",
        nickname_en: "Mini program live streaming",
        open: true,
    },
    Plugin {
        appid: "wx9a3c1f0e2d4b5a61",
        nickname: "Acme 内部组件",
        nickname_en: "Acme private components",
        open: false,
    },
];

pub fn plugin(appid: &str) -> Option<&'static Plugin> {
    PLUGINS.iter().find(|p| p.appid == appid)
}

/// How many plugins a mini program may have applied for or use (89238 beyond). WeChat does
/// not publish the number; this is the sandbox's.
pub const PLUGIN_LIMIT: usize = 10;

/// A privacy-sensitive JS interface that must be applied for (reference §3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrivacyApi {
    pub api_name: &'static str,
    pub api_ch_name: &'static str,
    pub api_desc: &'static str,
    pub api_link: &'static str,
    pub group_name: &'static str,
}

const LOCATION: &str = "地理位置";

pub const PRIVACY_APIS: &[PrivacyApi] = &[
    PrivacyApi {
        api_name: "wx.getFuzzyLocation",
        api_ch_name: "获取模糊地理位置",
        api_desc: "获取当前的模糊地理位置",
        api_link: "https://developers.weixin.qq.com/miniprogram/dev/api/location/wx.getFuzzyLocation.html",
        group_name: LOCATION,
    },
    PrivacyApi {
        api_name: "wx.getLocation",
        api_ch_name: "获取当前的地理位置、速度",
        api_desc: "获取当前的地理位置、速度。当用户离开小程序后，此接口无法调用",
        api_link: "https://developers.weixin.qq.com/miniprogram/dev/api/location/wx.getLocation.html",
        group_name: LOCATION,
    },
    PrivacyApi {
        api_name: "wx.onLocationChange",
        api_ch_name: "监听实时地理位置变化事件",
        api_desc: "监听实时地理位置变化事件，需结合 wx.startLocationUpdate 使用",
        api_link: "https://developers.weixin.qq.com/miniprogram/dev/api/location/wx.onLocationChange.html",
        group_name: LOCATION,
    },
    PrivacyApi {
        api_name: "wx.startLocationUpdate",
        api_ch_name: "开启小程序进入前台时接收位置消息",
        api_desc: "开启小程序进入前台时接收位置消息",
        api_link: "https://developers.weixin.qq.com/miniprogram/dev/api/location/wx.startLocationUpdate.html",
        group_name: LOCATION,
    },
    PrivacyApi {
        api_name: "wx.startLocationUpdateBackground",
        api_ch_name: "开启小程序进入前后台时均接收位置消息",
        api_desc: "开启小程序进入前后台时均接收位置消息",
        api_link: "https://developers.weixin.qq.com/miniprogram/dev/api/location/wx.startLocationUpdateBackground.html",
        group_name: LOCATION,
    },
    PrivacyApi {
        api_name: "wx.chooseLocation",
        api_ch_name: "打开地图选择位置",
        api_desc: "打开地图选择位置",
        api_link: "https://developers.weixin.qq.com/miniprogram/dev/api/location/wx.chooseLocation.html",
        group_name: LOCATION,
    },
    PrivacyApi {
        api_name: "wx.choosePoi",
        api_ch_name: "打开POI列表选择位置",
        api_desc: "打开POI列表选择位置，支持模糊定位（精确到市）和精确定位混选",
        api_link: "https://developers.weixin.qq.com/miniprogram/dev/api/location/wx.choosePoi.html",
        group_name: LOCATION,
    },
    PrivacyApi {
        api_name: "wx.chooseAddress",
        api_ch_name: "获取用户收货地址",
        api_desc: "获取用户收货地址。调起用户编辑收货地址原生界面，并在编辑完成后返回用户选择的地址",
        api_link: "https://developers.weixin.qq.com/miniprogram/dev/api/open-api/address/wx.chooseAddress.html",
        group_name: LOCATION,
    },
];

/// An interface by its exact name (WeChat compares case-sensitively).
pub fn privacy_api(api_name: &str) -> Option<&'static PrivacyApi> {
    PRIVACY_APIS.iter().find(|a| a.api_name == api_name)
}

/// The `fail_reason` of an interface the account may not apply for (status 2).
pub const NO_CATEGORY_REASON: &str = "当前小程序没有已审核通过的、允许使用该接口的服务类目，请先添加服务类目";

/// The privacy guide's information types: `privacy_key` and its description
/// (`privacy_desc.privacy_desc_list`; reference §3.7).
pub const PRIVACY_KEYS: &[(&str, &str)] = &[
    ("UserInfo", "用户信息（微信昵称、头像）"),
    ("Location", "位置信息"),
    ("Address", "地址"),
    ("Invoice", "发票信息"),
    ("RunData", "微信运动数据"),
    ("Record", "麦克风"),
    ("Album", "选中的照片或视频信息"),
    ("Camera", "摄像头"),
    ("PhoneNumber", "手机号码"),
    ("Contact", "通讯录（仅写入）权限"),
    ("DeviceInfo", "设备信息"),
    ("EXIDNumber", "身份证号码"),
    ("EXOrderInfo", "订单信息"),
    ("EXUserPublishContent", "发布内容"),
    ("EXUserFollowAcct", "所关注账号"),
    ("EXUserOpLog", "操作日志"),
    ("AlbumWriteOnly", "相册（仅写入）权限"),
    ("LicensePlate", "车牌号"),
    ("BlueTooth", "蓝牙"),
    ("CalendarWriteOnly", "日历（仅写入）权限"),
    ("Email", "邮箱"),
    ("MessageFile", "选中的文件"),
    ("ChooseLocation", "选择的位置信息"),
    ("Accelerometer", "加速传感器"),
    ("Compass", "磁场传感器"),
    ("DeviceMotion", "方向传感器"),
    ("Gyroscope", "陀螺仪传感器"),
    ("Clipboard", "剪切板"),
];

pub fn is_privacy_key(key: &str) -> bool {
    PRIVACY_KEYS.iter().any(|(k, _)| *k == key)
}

/// `get_icp_entrance_info` statuses (`info.status`).
pub const ICP_STATUSES: &[i32] = &[2, 3, 4, 5, 6, 1024, 1025, 1026, 1027, 1028, 1029, 1030, 1031];

/// The review findings `audit_data` lists for a rejected filing (3 and 5).
pub const ICP_AUDIT_DATA: &[(&str, &str, &str)] =
    &[("备案主体负责人证件", "证件照片不清晰，无法辨认证件号码", "请上传清晰、完整、无遮挡的证件照片")];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_ids_are_unique_and_names_resolve() {
        let mut ids: Vec<i64> = CATEGORIES.iter().flat_map(|f| f.children.iter().map(|s| s.id).chain([f.id])).collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n);
        assert_eq!(category_by_name("IT科技", "软件服务提供商").map(|(_, s)| s.id), Some(70));
        assert_eq!(category_by_name("merchant self-operated", "Apparel & Underwear").map(|(_, s)| s.id), Some(305));
        assert_eq!(category_by_name("304", "307").map(|(_, s)| s.sensitive_type()), Some(1));
        assert!(category(7, 305).is_none(), "second must be a child of first");
        assert!(category_by_name("IT科技", "百货").is_none());
    }

    #[test]
    fn the_seed_plugin_and_interfaces_are_known() {
        assert!(plugin("wx069ba97219f66d99").is_some_and(|p| p.open));
        for name in [
            "wx.getLocation",
            "wx.onLocationChange",
            "wx.startLocationUpdate",
            "wx.chooseLocation",
            "wx.choosePoi",
            "wx.chooseAddress",
        ] {
            assert!(privacy_api(name).is_some(), "{name}");
        }
        assert!(privacy_api("wx.getlocation").is_none(), "names are case-sensitive");
        assert!(is_privacy_key("Location") && !is_privacy_key("location"));
    }
}
