//! The sandbox's own tables (its own migration set, `migrations/sandbox/`). Nothing outside
//! `crate::sandbox` reads them.

diesel::table! {
    sandbox_accounts (appid) {
        appid -> Text,
        kind -> Text,
        nick_name -> Text,
        head_img -> Text,
        user_name -> Text,
        principal_name -> Text,
        verified -> Bool,
        alias -> Text,
        signature -> Text,
        qrcode_url -> Text,
        service_type -> Integer,
        account_status -> Integer,
        /// No longer read: service categories live in `sandbox_mp_categories` (2026-11-24-000002).
        categories -> Text,
        network -> Text,
        business_info -> Text,
        position -> Integer,
        updated_at -> BigInt,
    }
}

diesel::table! {
    sandbox_tickets (id) {
        id -> Text,
        ticket -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    sandbox_tokens (token) {
        token -> Text,
        kind -> Text,
        appid -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked -> Bool,
    }
}

diesel::table! {
    sandbox_pre_auth_codes (code) {
        code -> Text,
        component_appid -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sandbox_auth_codes (code) {
        code -> Text,
        authorizer_appid -> Text,
        func_ids -> Text,
        pre_auth_code -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sandbox_authorizations (authorizer_appid) {
        authorizer_appid -> Text,
        active -> Bool,
        func_ids -> Text,
        refresh_token -> Text,
        auth_time -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    sandbox_faults (id) {
        id -> Text,
        endpoint -> Text,
        kind -> Text,
        value -> BigInt,
        remaining -> Integer,
        created_at -> BigInt,
    }
}

diesel::table! {
    sandbox_calls (id) {
        id -> Text,
        endpoint -> Text,
        at -> BigInt,
        errcode -> Nullable<BigInt>,
        http_status -> Integer,
        fault -> Nullable<Text>,
    }
}

diesel::table! {
    sandbox_pushes (id) {
        id -> Text,
        info_type -> Text,
        authorizer_appid -> Nullable<Text>,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        http_status -> Nullable<Integer>,
        error -> Nullable<Text>,
        created_at -> BigInt,
        last_attempt_at -> Nullable<BigInt>,
        target -> Text,
    }
}

diesel::table! {
    sandbox_mp_settings (appid) {
        appid -> Text,
        nickname_pending -> Nullable<Text>,
        nickname_used -> Integer,
        signature_used -> Integer,
        head_image_used -> Integer,
        annual_review_begin -> Nullable<BigInt>,
        annual_review_end -> Nullable<BigInt>,
        icp_status -> Integer,
        category_period -> Text,
        category_adds -> Integer,
        privacy_setting -> Nullable<Text>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    sandbox_mp_plugins (appid, plugin_appid) {
        appid -> Text,
        plugin_appid -> Text,
        status -> Integer,
        reason -> Text,
        apply_time -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    sandbox_mp_categories (appid, first, second) {
        appid -> Text,
        first -> BigInt,
        second -> BigInt,
        audit_status -> Integer,
        audit_reason -> Text,
        certicates -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    sandbox_mp_privacy_interfaces (appid, api_name) {
        appid -> Text,
        api_name -> Text,
        status -> Integer,
        fail_reason -> Text,
        apply_time -> Nullable<BigInt>,
        audit_id -> Nullable<BigInt>,
        content -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    sandbox_reviews (id) {
        id -> Text,
        kind -> Text,
        appid -> Text,
        subject -> Text,
        status -> Text,
        reason -> Text,
        audit_id -> Nullable<BigInt>,
        created_at -> BigInt,
        decided_at -> Nullable<BigInt>,
        /// When a code review was delayed (it stays pending; 2026-11-25-000003).
        delayed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sandbox_platform_domains (list, domain) {
        list -> Text,
        domain -> Text,
    }
}

diesel::table! {
    sandbox_code_counters (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    sandbox_code_drafts (draft_id) {
        draft_id -> BigInt,
        user_version -> Text,
        user_desc -> Text,
        privacy_apis -> Text,
        create_time -> BigInt,
    }
}

diesel::table! {
    sandbox_code_templates (template_id) {
        template_id -> BigInt,
        draft_id -> BigInt,
        user_version -> Text,
        user_desc -> Text,
        privacy_apis -> Text,
        template_type -> Integer,
        create_time -> BigInt,
    }
}

diesel::table! {
    sandbox_code_trials (appid) {
        appid -> Text,
        template_id -> BigInt,
        user_version -> Text,
        user_desc -> Text,
        ext_json -> Text,
        privacy_apis -> Text,
        commit_id -> Text,
        committed_at -> BigInt,
        scan_done_at -> BigInt,
    }
}

diesel::table! {
    sandbox_code_audits (auditid) {
        auditid -> BigInt,
        appid -> Text,
        seq -> BigInt,
        template_id -> BigInt,
        user_version -> Text,
        user_desc -> Text,
        commit_id -> Text,
        committed_at -> BigInt,
        item_list -> Text,
        status -> Integer,
        reason -> Text,
        screenshot -> Text,
        expedited -> Bool,
        submit_audit_time -> BigInt,
        decided_at -> Nullable<BigInt>,
        released_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sandbox_code_releases (id) {
        id -> Text,
        appid -> Text,
        seq -> BigInt,
        kind -> Text,
        app_version -> BigInt,
        auditid -> Nullable<BigInt>,
        template_id -> BigInt,
        user_version -> Text,
        user_desc -> Text,
        commit_time -> BigInt,
        release_time -> BigInt,
    }
}

diesel::table! {
    sandbox_code_undos (id) {
        id -> Text,
        appid -> Text,
        auditid -> BigInt,
        at -> BigInt,
    }
}

diesel::table! {
    sandbox_code_media (media_id) {
        media_id -> Text,
        appid -> Text,
        auditid -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    sandbox_code_quota (id) {
        id -> Text,
        audit_rest -> Integer,
        audit_limit -> Integer,
        speedup_rest -> Integer,
        speedup_limit -> Integer,
        period -> Text,
    }
}

diesel::table! {
    sandbox_call_limits (path) {
        path -> Text,
        max_calls -> Integer,
        window_secs -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    sandbox_alipay_apps (app_id) {
        app_id -> Text,
        name -> Text,
        app_public_key -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    sandbox_alipay_trades (id) {
        id -> Text,
        app_id -> Text,
        out_trade_no -> Text,
        trade_no -> Nullable<Text>,
        qr_token -> Text,
        subject -> Text,
        body -> Text,
        total_cents -> BigInt,
        refunded_cents -> BigInt,
        status -> Text,
        notify_url -> Nullable<Text>,
        buyer_id -> Nullable<Text>,
        buyer_logon_id -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        paid_at -> Nullable<BigInt>,
        closed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sandbox_alipay_refunds (id) {
        id -> Text,
        trade_id -> Text,
        out_request_no -> Text,
        refund_cents -> BigInt,
        refund_fee_cents -> BigInt,
        reason -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    sandbox_alipay_notifications (id) {
        id -> Text,
        trade_id -> Text,
        app_id -> Text,
        notify_url -> Text,
        notify_id -> Text,
        params -> Text,
        status -> Text,
        attempts -> Integer,
        due_ms -> BigInt,
        last_attempt_ms -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    sandbox_alipay_attempts (id) {
        id -> Text,
        notification_id -> Text,
        at_ms -> BigInt,
        http_status -> Nullable<Integer>,
        body -> Text,
        outcome -> Text,
    }
}

// ---- WeChat Pay (2026-11-25-100010_wechatpay) ----

diesel::table! {
    sandbox_wxpay_merchants (mchid) {
        mchid -> Text,
        appid -> Text,
        api_v3_key -> Text,
        cert_pem -> Text,
        cert_serial -> Text,
        verify_mode -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    sandbox_wxpay_media (media_id) {
        media_id -> Text,
        mchid -> Text,
        filename -> Text,
        sha256 -> Text,
        size -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    sandbox_wxpay_applyments (applyment_id) {
        applyment_id -> BigInt,
        sp_mchid -> Text,
        business_code -> Text,
        state -> Text,
        subject_type -> Text,
        merchant_name -> Text,
        merchant_shortname -> Text,
        contact_name -> Text,
        mobile_phone -> Text,
        contact_email -> Text,
        id_card_name -> Text,
        id_card_number -> Text,
        account_name -> Text,
        account_number -> Text,
        mini_program_sub_appid -> Nullable<Text>,
        body -> Text,
        audit_detail -> Text,
        sub_mchid -> Nullable<Text>,
        signed_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    sandbox_wxpay_sub_merchants (sub_mchid) {
        sub_mchid -> Text,
        sp_mchid -> Text,
        name -> Text,
        applyment_id -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    sandbox_wxpay_bindings (sub_mchid, appid) {
        sub_mchid -> Text,
        appid -> Text,
        state -> Text,
        method -> Text,
        note -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    sandbox_wxpay_orders (id) {
        id -> Text,
        sp_mchid -> Text,
        sp_appid -> Text,
        sub_mchid -> Text,
        sub_appid -> Nullable<Text>,
        out_trade_no -> Text,
        trade_type -> Text,
        description -> Text,
        total -> BigInt,
        currency -> Text,
        notify_url -> Text,
        attach -> Nullable<Text>,
        sp_openid -> Nullable<Text>,
        sub_openid -> Nullable<Text>,
        fingerprint -> Text,
        prepay -> Text,
        state -> Text,
        transaction_id -> Nullable<Text>,
        success_time -> Nullable<BigInt>,
        refunded -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    sandbox_wxpay_refunds (refund_id) {
        refund_id -> Text,
        order_id -> Text,
        sp_mchid -> Text,
        sub_mchid -> Text,
        out_refund_no -> Text,
        reason -> Nullable<Text>,
        notify_url -> Nullable<Text>,
        refund -> BigInt,
        status -> Text,
        settle_at -> BigInt,
        success_time -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    sandbox_wxpay_notifications (id) {
        id -> Text,
        sp_mchid -> Text,
        url -> Text,
        event_type -> Text,
        out_trade_no -> Text,
        out_refund_no -> Nullable<Text>,
        body -> Text,
        attempts -> Integer,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        delivered -> Bool,
        next_attempt_ms -> Nullable<BigInt>,
        claimed_until_ms -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    sandbox_wxpay_attempts (id) {
        id -> Text,
        notification_id -> Text,
        at_ms -> BigInt,
        http_status -> Nullable<Integer>,
        error -> Nullable<Text>,
        delivered -> Bool,
    }
}

// ---- official accounts (2026-12-07-100012) ----

diesel::table! {
    sandbox_oa_links (oa_appid, mp_appid) {
        oa_appid -> Text,
        mp_appid -> Text,
        status -> Integer,
        nickname -> Text,
        username -> Text,
        same_subject -> Bool,
        notify_users -> Bool,
        show_profile -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    sandbox_oa_menus (appid) {
        appid -> Text,
        buttons -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    sandbox_oa_templates (appid, template_id) {
        appid -> Text,
        template_id -> Text,
        title -> Text,
        content -> Text,
        example -> Text,
        primary_industry -> Text,
        deputy_industry -> Text,
        created_at -> BigInt,
    }
}

// ---- the custom trade component and WeChat Shop links (migration 2026-12-07-100013_shop) ----

diesel::table! {
    sandbox_shop_accounts (appid) {
        appid -> Text,
        legacy -> Bool,
        access_info -> Text,
        scene_status -> Integer,
        scene_reason -> Text,
        shop_appid -> Nullable<Text>,
        link_status -> Integer,
        updated_at -> BigInt,
    }
}

diesel::table! {
    sandbox_shop_objects (id) {
        id -> Text,
        appid -> Text,
        kind -> Text,
        wx_id -> Text,
        out_id -> Text,
        status -> Integer,
        reason -> Text,
        data -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}
