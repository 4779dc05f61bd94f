//! WeChat Open Platform `errcode` table (reference §6.3, with per-code detail from
//! §3–§5) mapped to a handling class and a plain-English sentence for operations
//! staff: what happened, and what to do.
//!
//! Source notes: codes inside the ranges of §6.3 that the reference does not spell
//! out were filled from the public SDK error tables (WxJava `WxOpenErrorMsgEnum` and
//! similar); where even those are silent, the entry gives the range-level meaning.
//! 89247–89255 sit inside the §6.3 "plugin" range but are the fast-registration
//! codes in the SDK tables, so they are described that way.

/// How the console should react to an errcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrClass {
    /// Token rejected: refresh the token and retry once (class R).
    RefreshAndRetry,
    /// The tenant must authorize the platform again (class A).
    Reauthorize,
    /// A quota or rate limit was hit: back off (class Q).
    QuotaBackoff,
    /// The tenant or an operator must change something; show the message (class U).
    UserFix,
    /// The platform's own configuration must be fixed by the operator (class P).
    PlatformConfig,
    /// Something is still in progress on WeChat's side: wait and poll (class W).
    WaitAndPoll,
    /// Our request was wrong: a console bug, or an unknown code (class X).
    RequestBug,
    /// WeChat is busy: retry later.
    Busy,
}

/// One errcode's handling class and operator-facing message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrInfo {
    pub code: i64,
    pub class: ErrClass,
    pub message: &'static str,
}

/// Message returned for codes that are not in the table.
pub const GENERIC_MESSAGE: &str = "WeChat returned an error code this console does not recognise. \
Note the code and the time it happened, then report it to the developers.";

impl ErrInfo {
    /// The catalog key of this code's sentence.
    pub fn message_key(&self) -> String {
        if known(self.code).is_some() { format!("errcode.{}", self.code) } else { "errcode.generic".into() }
    }
}

/// Looks up a code. Unknown codes give [`GENERIC_MESSAGE`] with class
/// [`ErrClass::RequestBug`].
pub fn lookup(code: i64) -> ErrInfo {
    let (class, message) = known(code).unwrap_or((ErrClass::RequestBug, GENERIC_MESSAGE));
    ErrInfo { code, class, message }
}

/// True for the codes after which the cached token should be dropped and the call
/// retried once: 40001, 40014, 42001, 42006.
pub fn is_token_error(code: i64) -> bool {
    matches!(code, 40001 | 40014 | 42001 | 42006)
}

fn known(code: i64) -> Option<(ErrClass, &'static str)> {
    use ErrClass::{
        Busy, PlatformConfig, QuotaBackoff, Reauthorize, RefreshAndRetry, RequestBug, UserFix, WaitAndPoll,
    };
    let entry = match code {
        // ---- general -------------------------------------------------------------
        -1 => (
            Busy,
            "WeChat's servers were busy and did not process the request. Nothing needs to \
             change: the console retries shortly; if it keeps failing for more than a few \
             minutes, try again later.",
        ),
        40001 => (
            RefreshAndRetry,
            "WeChat rejected the access token as invalid or out of date. The console gets a \
             new token and retries automatically; if this keeps happening, check that the \
             platform AppSecret in the settings is correct and that no other system refreshes \
             the same tokens.",
        ),
        40007 => (
            UserFix,
            "WeChat no longer recognises the uploaded image or file (it expired, or it was \
             uploaded for a different account). Upload the image again and retry.",
        ),
        40013 => (
            RequestBug,
            "WeChat did not recognise the AppID sent with the request. Check that the mini \
             program's AppID (it starts with \"wx\") is entered correctly; if it is, report \
             this to the developers.",
        ),
        40014 => (
            RefreshAndRetry,
            "WeChat said the access token sent is not valid. The console gets a new token and \
             retries automatically; if this keeps happening, report it to the developers.",
        ),
        40125 => (
            PlatformConfig,
            "WeChat rejected the platform's AppSecret. Copy the current AppSecret from the \
             third-party platform details page of the WeChat Open Platform into the platform \
             settings.",
        ),
        41001 => (
            RequestBug,
            "The request was sent to WeChat without an access token. This is a fault in the \
             console; report it to the developers.",
        ),
        41004 => (
            RequestBug,
            "The request was sent to WeChat without the platform secret. Check that the \
             platform AppSecret is filled in the settings; if it is, report this to the \
             developers.",
        ),
        42001 => (
            RefreshAndRetry,
            "The access token had expired. The console gets a new one and retries \
             automatically; no action is needed unless this keeps repeating.",
        ),
        42006 => (
            RefreshAndRetry,
            "The platform's component access token had expired. The console gets a new one and \
             retries automatically; if this keeps repeating, check that WeChat's verify-ticket \
             pushes are arriving.",
        ),
        43002 => (
            RequestBug,
            "The request was sent to WeChat with the wrong HTTP method (POST is required). This \
             is a fault in the console; report it to the developers.",
        ),
        45009 => (
            QuotaBackoff,
            "The daily WeChat API call limit for this account has been reached. Wait until \
             tomorrow, or reset the quota from the platform tools (at most 10 resets per \
             month).",
        ),
        45011 => (
            QuotaBackoff,
            "Requests were sent to WeChat too quickly. The console slows down and retries \
             automatically; no action is needed.",
        ),
        47001 => (
            RequestBug,
            "WeChat could not read the data the console sent (malformed JSON or XML, for \
             example a configuration sent in the wrong form). This is a fault in the console; \
             report it to the developers with the time it happened.",
        ),
        48001 => (
            Reauthorize,
            "This mini program does not have this capability, or the tenant did not grant it \
             to our platform. Ask the tenant to check the feature is enabled for the mini \
             program and to authorize again with all permissions ticked.",
        ),
        48006 => (
            QuotaBackoff,
            "All quota resets for this month have been used. Wait until the daily limits reset \
             tomorrow, or until next month for new reset chances.",
        ),

        // ---- name rules (§3.8) ---------------------------------------------------
        53010 => (
            UserFix,
            "The new name has an invalid format. Choose a name with allowed characters and \
             length, then submit again.",
        ),
        53011 => (
            UserFix,
            "Too many name checks were made in a short time. Wait a while, then try the name \
             again.",
        ),
        53012 => (UserFix, "WeChat does not allow this name. Choose a different name."),
        53013 => (UserFix, "Another mini program already uses this name. Choose a different name."),
        53014 => (
            UserFix,
            "A closely related name (the name with a \"+\" suffix) belongs to another owner, \
             and only that owner may use this name. Choose a different name.",
        ),
        53015 => (
            UserFix,
            "An official account of another owner already uses this name. Choose a different \
             name, unless the tenant owns that official account and applies with the same \
             owner.",
        ),
        53016 => (
            UserFix,
            "Several official accounts already use this name, so it cannot be used. Choose a \
             different name.",
        ),
        53017 => (
            UserFix,
            "An official account of another owner holds a closely related name. Choose a \
             different name.",
        ),
        53018 => (UserFix, "The name matches an existing WeChat ID. Choose a different name."),
        53019 => (
            UserFix,
            "This name is in a protection period for its current holder. Choose a different \
             name, or try again after the protection period ends.",
        ),

        // ---- introduction / avatar (§3.8) ----------------------------------------
        53200 => (
            UserFix,
            "The mini program's introduction has already been changed the maximum number of \
             times this month. Wait until next month to change it again.",
        ),
        53201 => (
            UserFix,
            "The new introduction contains words WeChat does not allow. Ask the tenant to \
             rewrite it and submit again.",
        ),
        53202 => (
            UserFix,
            "The mini program's avatar has already been changed the maximum number of times \
             allowed for now. Wait until the limit resets before changing it again.",
        ),
        53203 => (
            UserFix,
            "WeChat does not allow this change right now. Try again later; if it keeps \
             failing, the tenant should check the account's status in the WeChat mini program \
             admin site.",
        ),
        53204 => (
            UserFix,
            "WeChat rejected the new introduction as invalid. Ask the tenant to revise it (4 to \
             120 characters, no disallowed content) and submit again.",
        ),

        // ---- service categories (§3.5) -------------------------------------------
        53300 => (
            UserFix,
            "The service categories have already been changed the maximum number of times this \
             period. Wait for the next period before changing categories again.",
        ),
        53301 => (
            UserFix,
            "The mini program already has the maximum number of service categories. Remove a \
             category it no longer needs before adding a new one.",
        ),
        53302 => (
            UserFix,
            "The mini program's owner type (for example an individual) may not use this \
             category. Choose a different category.",
        ),
        53303 => (
            UserFix,
            "WeChat rejected the category request as invalid. Check the selected categories \
             and qualification documents and try again; if it keeps failing, report it to the \
             developers.",
        ),
        53304 => (
            UserFix,
            "This category is already set on the mini program. No action is needed; choose a \
             different category if another one was meant.",
        ),
        53305 => (
            UserFix,
            "One of the selected categories failed WeChat's ICP filing check. Remove it, or \
             choose a category that matches the ICP filing.",
        ),
        53306 => (
            UserFix,
            "Editing a category may only change its qualification documents, not the category \
             itself. To switch category, delete it and add the new one.",
        ),
        53307 => (
            UserFix,
            "Only rejected categories can be edited. Wait for the category review; edit it \
             only if it is rejected.",
        ),
        53308 => (
            UserFix,
            "This category is still under review and cannot be deleted. Wait for the review \
             result, then delete it if still needed.",
        ),
        53309 => (UserFix, "The social red packet category cannot be deleted. Leave it in place."),
        53310 => (
            UserFix,
            "The mini program has reached its category limit. Remove an unused category, or \
             submit again with a reason to ask WeChat for more categories.",
        ),
        53311 => (
            UserFix,
            "This category needs qualification documents. Upload the required licence or \
             permit images with the category and submit again.",
        ),

        // ---- authorization / component -------------------------------------------
        61003 => (
            Reauthorize,
            "The tenant has revoked our platform's authorization for this mini program. Ask \
             the tenant to authorize the platform again from the console.",
        ),
        61004 => (
            PlatformConfig,
            "WeChat refused the call because this server's IP address is not on the \
             platform's whitelist. Add the server's outgoing IP address to the IP whitelist in \
             the WeChat Open Platform development settings.",
        ),
        61005 => (
            WaitAndPoll,
            "The WeChat verify ticket has expired, so the platform cannot get tokens. Wait up \
             to 10 minutes for WeChat's next ticket push; if none arrives, check that the \
             authorization event URL is reachable and restart the ticket push.",
        ),
        61006 => (
            WaitAndPoll,
            "The stored WeChat verify ticket is invalid. Wait up to 10 minutes for WeChat's \
             next ticket push; if none arrives, check the authorization event URL and the \
             message Token and EncodingAESKey settings.",
        ),
        61007 => (
            Reauthorize,
            "The tenant did not grant our platform the permission needed for this action. Ask \
             the tenant to authorize again and tick all requested permissions.",
        ),
        61011 => (
            PlatformConfig,
            "WeChat does not recognise our platform (component) AppID. Check that the platform \
             AppID in the settings matches the WeChat Open Platform console.",
        ),
        61023 => (
            Reauthorize,
            "The tenant's authorization has changed and the stored refresh token is no longer \
             valid. Ask the tenant to authorize the platform again.",
        ),
        61024 => (
            RequestBug,
            "The platform token was requested the wrong way. This is a fault in the console; \
             report it to the developers.",
        ),
        61028 => (
            PlatformConfig,
            "Our third-party platform is not fully published on WeChat, so only the test \
             accounts listed on the platform may authorize. Add this mini program to the test \
             list, or complete the platform's full release on the WeChat Open Platform.",
        ),

        // ---- privacy APIs (§3.6) -------------------------------------------------
        61031 => (
            UserFix,
            "An application for this privacy API is already under review. Wait for the review \
             result before applying again.",
        ),
        61032 => (
            UserFix,
            "The video attached to the privacy API application is not an MP4 file. Attach an \
             MP4 video and apply again.",
        ),
        61033 => (
            UserFix,
            "WeChat could not download the pictures or video attached to the application. \
             Check the links are public and working, then apply again.",
        ),
        61034 => (
            UserFix,
            "The privacy API application is missing required information. Fill in the reason \
             and at least one supporting web page, picture or video, then apply again.",
        ),
        61035 => (UserFix, "This API does not need an application. No action is needed."),
        61039 => (
            WaitAndPoll,
            "WeChat is still scanning the uploaded code for privacy API use. Wait about a \
             minute; the console checks again automatically.",
        ),
        61040 => (
            UserFix,
            "The code uses privacy-sensitive APIs (such as location) without permission or \
             declaration. Apply for the API, declare it in the template's \
             requiredPrivateInfos, or confirm on submission that it is not used.",
        ),

        // ---- quota query ---------------------------------------------------------
        76003 | 76021 => (
            RequestBug,
            "The API quota query was sent with an invalid API path. This is a fault in the \
             console; report it to the developers.",
        ),
        76022 => (
            RequestBug,
            "The API quota query used the wrong kind of token, or the API does not support \
             quota queries. This is a fault in the console; report it to the developers.",
        ),

        // ---- testers -------------------------------------------------------------
        85001 => (
            UserFix,
            "The WeChat ID given for the tester does not exist or cannot be searched. Ask the \
             person to check their WeChat ID and allow being found by WeChat ID in WeChat's \
             privacy settings, then try again.",
        ),
        85002 => (
            UserFix,
            "This mini program already has the maximum number of testers. Remove a tester who \
             no longer needs access, then add the new one.",
        ),
        85003 => (
            UserFix,
            "This WeChat user is already a tester for the maximum number of mini programs. Ask \
             them to leave one they no longer test, or use a different WeChat ID.",
        ),
        85004 => (UserFix, "This WeChat user is already a tester of this mini program. No action is needed."),

        // ---- review submission (§4.4) --------------------------------------------
        85006 => (
            UserFix,
            "The review submission has badly formatted tags. Use at most 10 tags separated by \
             spaces, each at most 20 characters, and submit again.",
        ),
        85007 => (
            UserFix,
            "A page path in the review submission does not exist in the uploaded code. Pick a \
             page from the uploaded code's page list and submit again.",
        ),
        85008 => (
            UserFix,
            "The mini program has no approved service category, or the category chosen for \
             review is wrong. Add a service category and get it approved first, then submit \
             again with that category.",
        ),
        85009 => (
            WaitAndPoll,
            "A version of this mini program is already under review. Wait for that review to \
             finish (or withdraw it) before submitting another.",
        ),
        85010 => (
            UserFix,
            "An item in the review submission is empty. Fill in every review item and submit \
             again.",
        ),
        85011 => (
            UserFix,
            "A title in the review submission is invalid. Use a title of at most 32 characters \
             and submit again.",
        ),
        85012 => (
            RequestBug,
            "The review ID does not belong to this mini program. Refresh the page; if it \
             persists, report it to the developers.",
        ),
        85013 => (
            RequestBug,
            "WeChat rejected the custom configuration (ext_json) sent with the code upload. \
             Check the tenant's mini program settings; if they look right, report it to the \
             developers.",
        ),
        85014 => (
            RequestBug,
            "The code template does not exist. Check that the template is still in the \
             platform's template library and select it again.",
        ),
        85015 => (
            UserFix,
            "This account is not a mini program, so this action is not available. Check that \
             the tenant authorized a mini program rather than an official account.",
        ),

        // ---- domains (§3.1) ------------------------------------------------------
        85016 => (
            UserFix,
            "The mini program has reached the maximum number of server domains. Remove domains \
             that are no longer used, then add the new one.",
        ),
        85017 => (
            UserFix,
            "No new domain was added: it is already configured, or it is not registered on our \
             platform. Check the domain list; if the domain is missing there, register it on \
             the open platform first.",
        ),
        85018 => (
            PlatformConfig,
            "The domain is not registered on our third-party platform. Add it to the \
             platform's mini program server domain list on the WeChat Open Platform first, \
             then try again.",
        ),

        // ---- release (§4.7) ------------------------------------------------------
        85019 => (
            WaitAndPoll,
            "There is no approved version to release yet. Wait for the review to be approved, \
             then release.",
        ),
        85020 => (
            WaitAndPoll,
            "The current review status does not allow a release. Wait until the review is \
             approved, then release.",
        ),
        85021 => (
            RequestBug,
            "The mini program's visit status cannot be changed in its current state. Refresh \
             and check the mini program's status; if this persists, report it to the \
             developers.",
        ),
        85022 => (
            RequestBug,
            "The console sent an invalid action for changing the visit status. This is a \
             fault in the console; report it to the developers.",
        ),
        85023 => (
            UserFix,
            "The review submission must contain between 1 and 5 items. Adjust the number of \
             items and submit again.",
        ),

        // ---- template / ext_json (§4.2) ------------------------------------------
        85043 => (
            RequestBug,
            "The code template has an error. Ask the template maintainer to fix and re-upload \
             the template, then upload the code again.",
        ),
        85044 => (
            RequestBug,
            "The code package is larger than WeChat allows. Ask the template maintainer to \
             reduce the package size.",
        ),
        85045 => (
            RequestBug,
            "A page path in the custom configuration (ext_json) does not exist in the \
             template. Check the tenant's page settings; if they look right, report it to the \
             developers.",
        ),
        85046 => (
            RequestBug,
            "A tab bar item has no page path. Check the tenant's tab bar settings: every tab \
             must point to an existing page.",
        ),
        85047 => (
            RequestBug,
            "The page list in the configuration is empty. Check that the tenant's page \
             settings contain at least one page.",
        ),
        85048 => (
            RequestBug,
            "WeChat could not parse the custom configuration (ext_json). This is a fault in \
             the console; report it to the developers.",
        ),
        85051 => (
            UserFix,
            "The version description for the reviewers is too long. Shorten it and submit \
             again.",
        ),
        85052 => (
            UserFix,
            "This version has already been released. No action is needed; refresh the page to \
             see the current state.",
        ),
        85064 => (
            PlatformConfig,
            "The code template or draft was not found. Refresh the template list and choose \
             an existing template.",
        ),
        85065 => (
            PlatformConfig,
            "The platform's code template library is full. Delete old templates from the \
             template library, then add the new one.",
        ),
        85077 => (
            UserFix,
            "One of the mini program's service categories has been withdrawn by WeChat. \
             Re-select the service categories and submit again.",
        ),

        // ---- phased release (§4.7) -----------------------------------------------
        85079 => (
            UserFix,
            "The mini program has no live version, so a phased release is not possible. \
             Release a version fully first.",
        ),
        85080 => (
            UserFix,
            "The submitted version has not been approved, so it cannot be released in phases. \
             Wait for approval.",
        ),
        85081 => (RequestBug, "The phased-release percentage is invalid. Enter a whole number from 1 to 100."),
        85082 => (
            UserFix,
            "The new phased-release percentage must be higher than the current one. Enter a \
             larger percentage.",
        ),

        // ---- search status -------------------------------------------------------
        85083 => (
            UserFix,
            "WeChat has locked the mini program's search visibility setting, so it cannot be \
             changed. Contact WeChat support if it must be changed.",
        ),
        85084 => (
            UserFix,
            "An invalid value was sent for the search visibility setting (only on or off is \
             allowed). Choose on or off and try again; if it persists, report it to the \
             developers.",
        ),
        85091 => (
            UserFix,
            "The mini program's search switch is turned off. Turn on \"allow search\" in the \
             mini program's settings, then try again.",
        ),

        // ---- more review submission ----------------------------------------------
        85085 => (
            QuotaBackoff,
            "WeChat's monthly review quota for this mini program is used up (or too many \
             mini programs were submitted in the last 7 days). Wait until next month or ask \
             the platform operator to request more quota.",
        ),
        85086 => (
            RequestBug,
            "Code must be uploaded before it can be submitted for review. Upload the code \
             first, then submit.",
        ),
        85087 => (
            RequestBug,
            "The mini program opens other mini programs but the template does not list their \
             AppIDs. Add the target AppIDs to navigateToMiniProgramAppIdList in the \
             configuration and submit again.",
        ),
        85088 => (
            PlatformConfig,
            "The mini program lacks the cloud development privilege this template needs. \
             Enable cloud development for the mini program, or use a template that does not \
             need it.",
        ),
        85092 => (
            RequestBug,
            "The preview pictures or videos were attached in the wrong format. Upload the \
             preview media again and resubmit; if it persists, report it to the developers.",
        ),
        85093 => (
            RequestBug,
            "Too many preview pictures or videos were attached to the submission. Remove some \
             and submit again.",
        ),
        85094 => (
            UserFix,
            "WeChat needs a user-generated content (UGC) safety declaration for this mini \
             program's categories. Fill in the UGC safety declaration and submit again.",
        ),
        85301 => (
            UserFix,
            "The domain was rejected because it breaks WeChat's domain rules. Use an https \
             (or wss/udp/tcp) domain with an ICP filing, not an IP address and not \
             api.weixin.qq.com.",
        ),

        // ---- code submission state -----------------------------------------------
        86000 => (
            RequestBug,
            "The call was not made through the third-party platform. This is a fault in the \
             console; report it to the developers.",
        ),
        86001 => (
            RequestBug,
            "Our platform has not uploaded any code for this mini program. Upload the code \
             first, then try again.",
        ),
        86002 => (
            UserFix,
            "The mini program has no name, avatar or introduction yet. Ask the tenant to set \
             all three, then submit again.",
        ),
        86007 => (
            UserFix,
            "WeChat has banned this mini program from submitting code for review. The tenant \
             must read the notice in the WeChat mini program admin site and resolve the \
             violation.",
        ),
        86008 => (
            PlatformConfig,
            "WeChat has penalised our platform and blocked all code submissions. The platform \
             operator must read the notices on the WeChat Open Platform and resolve the \
             penalty.",
        ),
        86009 => (
            PlatformConfig,
            "WeChat has penalised our platform and blocked submissions for newly created mini \
             programs. The platform operator must read the notices on the WeChat Open Platform \
             and resolve the penalty.",
        ),
        86010 => (
            PlatformConfig,
            "WeChat has penalised our platform and blocked update submissions for existing \
             mini programs. The platform operator must read the notices on the WeChat Open \
             Platform and resolve the penalty.",
        ),
        86072 => (
            UserFix,
            "The privacy guide contains an invalid value (for example the data retention \
             period). Correct the privacy guide settings and save again.",
        ),
        86074 => (
            UserFix,
            "The mini program has no live version, so the live privacy guide cannot be \
             edited. Edit the development version's privacy guide instead.",
        ),
        87006 => (
            UserFix,
            "Mini games cannot be submitted for review this way. Use the mini game's own \
             submission process.",
        ),
        87011 => (
            UserFix,
            "A phased release is in progress, so the version cannot be rolled back. Finish or \
             cancel the phased release first.",
        ),
        87012 => (
            UserFix,
            "This version cannot be rolled back (there is no earlier release, it was already \
             rolled back, or it is too old). Release a new version instead.",
        ),
        87013 => (
            QuotaBackoff,
            "The review withdrawal limit has been reached (5 per day, 10 per month). Wait \
             until tomorrow or next month before withdrawing again.",
        ),

        // ---- open-platform account binding ---------------------------------------
        89000 => (
            UserFix,
            "This account is already bound to an open platform account. Use the existing \
             binding, or unbind it first.",
        ),
        89001 => (
            UserFix,
            "The account and the open platform account belong to different owners, so they \
             cannot be bound. Use an open platform account with the same owner.",
        ),
        89002 => (
            UserFix,
            "This account is not bound to any open platform account. Bind it to one (or \
             create one) first.",
        ),
        89003 => (
            PlatformConfig,
            "The open platform account was not created through our platform, so we cannot \
             manage it. The tenant must manage this binding on the WeChat Open Platform \
             themselves.",
        ),
        89004 => (
            UserFix,
            "The open platform account already has the maximum of 100 bound accounts. Unbind \
             accounts that are no longer used first.",
        ),

        // ---- official account <-> mini program linking (§5) ----------------------
        89005 | 89006 => (
            UserFix,
            "WeChat has restricted the ability to link this official account and mini \
             program. The tenant should read the notices in the WeChat admin sites of both \
             accounts.",
        ),
        89007 => (
            UserFix,
            "The official account has reached its limit of linked mini programs. Unlink a \
             mini program before linking a new one.",
        ),
        89008 => (
            UserFix,
            "Overseas accounts cannot be linked. This official account and mini program \
             cannot be linked.",
        ),
        89009 => (
            UserFix,
            "The mini program has reached the maximum number of official accounts it can be \
             linked to. Unlink an official account it no longer needs first.",
        ),
        89010 => (
            WaitAndPoll,
            "A link request has already been sent and is waiting for confirmation. Ask the \
             administrators to confirm it in WeChat, then check again.",
        ),
        89011 => (
            UserFix,
            "Mini programs shown as \"nearby\" cannot be unlinked this way. Turn off the nearby \
             display first, or unlink in the WeChat admin site.",
        ),
        89012 => (
            UserFix,
            "Store mini programs cannot be unlinked this way. Unlink in the WeChat admin site \
             instead.",
        ),
        89013 => (
            UserFix,
            "The mini program is banned and cannot be linked. The tenant must resolve the ban \
             in the WeChat mini program admin site first.",
        ),
        89014 => (
            UserFix,
            "WeChat refused to link or unlink the official account and mini program. Check \
             both accounts' status in the WeChat admin sites and try again later.",
        ),
        89015 => (
            UserFix,
            "The mini program is already linked to this official account. No action is \
             needed.",
        ),
        89016 => (
            UserFix,
            "The official account has reached its limit of linked mini programs with the same \
             owner. Unlink one of them first.",
        ),
        89017 => (
            UserFix,
            "The official account has reached its limit of linked mini programs with a \
             different owner. Unlink one of them first.",
        ),
        89018 => (
            WaitAndPoll,
            "An unlink request has already been sent and is waiting for confirmation. Ask the \
             administrators to confirm it in WeChat, then check again.",
        ),

        // ---- business (web-view) domains (§3.2) ----------------------------------
        89019 => (UserFix, "The business domains are unchanged, so nothing was saved. No action is needed."),
        89020 => (
            PlatformConfig,
            "Our platform has no business (web-view) domains registered yet. Register them on \
             the WeChat Open Platform first, then try again.",
        ),
        89021 => (
            PlatformConfig,
            "This business domain is not registered on our platform (nor is it a subdomain of \
             one). Register it on the WeChat Open Platform first, then try again.",
        ),
        89022 => (
            UserFix,
            "The business domain to delete is not set on the mini program. Refresh the domain \
             list.",
        ),
        89029 => (
            UserFix,
            "The mini program has reached the maximum number of business domains. Remove \
             unused ones first.",
        ),
        89231 => (
            UserFix,
            "Mini programs owned by individuals cannot set business (web-view) domains. This \
             feature is not available for this tenant.",
        ),

        // ---- plugins (§3.4) ------------------------------------------------------
        89044 | 89244 => (UserFix, "No plugin exists with this AppID. Check the plugin AppID and try again."),
        89236 => (
            UserFix,
            "This plugin cannot be applied for. Choose another plugin or contact the plugin's \
             developer.",
        ),
        89237 => (UserFix, "This plugin has already been added to the mini program. No action is needed."),
        89238 => (
            UserFix,
            "The mini program has reached its plugin limit. Remove a plugin it does not use \
             first.",
        ),
        89239 => (UserFix, "The plugin does not exist. Check the plugin AppID and try again."),
        89243 => (
            UserFix,
            "A plugin application that is still pending cannot be removed. Wait until the \
             plugin's developer accepts or rejects it.",
        ),
        89247 => (Busy, "WeChat had an internal error. Try again later."),
        89248 => (
            UserFix,
            "The company code type is invalid. Choose the correct code type (for example the \
             unified social credit code) and try again.",
        ),
        89249 => (
            WaitAndPoll,
            "A registration task for this company is already running. Try again 24 hours after \
             the previous task.",
        ),
        89250 => (UserFix, "The registration task was not found. Start the registration again."),
        89251 => (
            WaitAndPoll,
            "The registration is waiting for the legal representative's face verification. Ask \
             the legal representative to complete it in WeChat, then check again.",
        ),
        89252 => (
            WaitAndPoll,
            "WeChat is checking that the legal representative and company details match. Wait \
             and check again later.",
        ),
        89253 => (
            UserFix,
            "The registration request is missing information. Fill in all required company \
             and legal representative details and try again.",
        ),
        89254 => (
            PlatformConfig,
            "Our platform lacks some permission sets needed for this action. The platform \
             operator must add them on the WeChat Open Platform and publish the platform \
             again.",
        ),
        89255 => (
            UserFix,
            "The company code is invalid. Check its length and content match the chosen code \
             type, then try again.",
        ),
        89257 => (
            UserFix,
            "This plugin version does not allow quick updates. Update the plugin by uploading \
             new code instead.",
        ),
        89258 => (
            UserFix,
            "The mini program has a phased release in progress, so plugins cannot be changed \
             now. Finish or cancel the phased release first.",
        ),
        89240..=89242 | 89245 | 89246 | 89256 | 89259 => (
            UserFix,
            "WeChat rejected the plugin request because of the plugin or its application's \
             current state. Refresh the mini program's plugin list and try again once the \
             plugin's status allows it.",
        ),

        // ---- expedited review (§4.6) ---------------------------------------------
        89401 => (Busy, "WeChat's expedited-review service is unstable at the moment. Try again later."),
        89402 => (
            UserFix,
            "This review is not waiting in the review queue (not submitted, or already \
             finished), so it cannot be expedited. Refresh the review status.",
        ),
        89403 => (UserFix, "This type of review cannot be expedited. Wait for the normal review."),
        89404 => (UserFix, "This review has already been expedited. No action is needed."),
        89405 => (
            QuotaBackoff,
            "The platform's expedited-review credits for this month are used up. Wait for the \
             normal review, or until next month.",
        ),

        // ---- renaming (§3.8) -----------------------------------------------------
        91001 => (
            UserFix,
            "This mini program was not created through an official account's quick \
             registration, so it cannot be renamed this way. Rename it in the WeChat mini \
             program admin site.",
        ),
        91002 => (
            UserFix,
            "The mini program has been published and can no longer be renamed this way. Rename \
             it through WeChat verification instead.",
        ),
        91003 => (
            UserFix,
            "The rename request is in a state that does not allow this action. Check the \
             current rename review status and try again.",
        ),
        91004 => (UserFix, "The name is not allowed. Choose a different name."),
        91005 => (
            UserFix,
            "This name is protected for 15 days for its previous owner. Choose a different \
             name, or try again after the protection period.",
        ),
        91006 => (UserFix, "The name matches an existing WeChat ID. Choose a different name."),
        91007 => (UserFix, "The name is already taken. Choose a different name."),
        91008 => (
            UserFix,
            "This name is in a 7-day infringement protection period. Choose a different name, \
             or try again after the protection period.",
        ),
        91009 => (
            UserFix,
            "Supporting documents are required for this name. Upload the required documents \
             (ID card, business licence or trademark proof) and submit again.",
        ),
        91010 | 91012 => (
            UserFix,
            "WeChat refused the rename without giving a specific reason. Try a different name, \
             or check the WeChat mini program admin site.",
        ),
        91011 => (
            UserFix,
            "WeChat has no record of this rename review. Refresh the rename status and submit \
             the rename again if needed.",
        ),
        91013 => (
            UserFix,
            "The owner already holds too many names. Release names that are not used, or \
             choose a different name.",
        ),
        91014 | 91017 => (
            UserFix,
            "A related name (the name with a \"+\" suffix) belongs to a different owner. Choose \
             a different name.",
        ),
        91015 => (
            UserFix,
            "The original name is held by an account of another type with a different owner. \
             Choose a different name.",
        ),
        91016 => (UserFix, "The name is already held by two or more accounts. Choose a different name."),
        91018 => (
            UserFix,
            "WeChat will not accept this rename for this organisation account (for example its \
             name was cleared after an infringement complaint). Rename it through WeChat \
             verification in the mini program admin site.",
        ),
        91019 => (
            WaitAndPoll,
            "The mini program is currently under review, so it cannot be renamed now. Wait for \
             the review to finish, then try again.",
        ),

        // ---- observed --------------------------------------------------------------
        9_402_203 => (
            RequestBug,
            "The configuration sent with a standard template may only contain extAppid, ext \
             and window. Remove the other settings from the template configuration; if this \
             persists, report it to the developers.",
        ),
        _ => return None,
    };
    Some(entry)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Every code of reference §6.3, ranges expanded.
    fn section_6_3_codes() -> Vec<i64> {
        let mut v: Vec<i64> = vec![
            -1, 40001, 40013, 40014, 40125, 41001, 41004, 42001, 42006, 40007, 43002, 45009, 45011, 47001, 48001,
            48006, 61003, 61004, 61005, 61006, 61007, 61011, 61023, 61024, 61028, 61039, 61040, 76003, 76021, 76022,
            85023, 85008, 85009, 85012, 85015, 85016, 85017, 85018, 85019, 85020, 85021, 85022, 85064, 85065, 85077,
            85083, 85084, 85091, 85085, 85086, 85087, 85092, 85093, 85094, 85301, 86000, 86001, 86002, 86007, 86008,
            86009, 86010, 87006, 87011, 87012, 87013, 89029, 89231, 9_402_203,
        ];
        let ranges: &[(i64, i64)] = &[
            (53200, 53204),
            (53300, 53311),
            (61031, 61035),
            (85001, 85004),
            (85006, 85011),
            (85013, 85014),
            (85043, 85048),
            (85079, 85082),
            (89000, 89004),
            (89005, 89018),
            (89019, 89022),
            (89236, 89259),
            (89401, 89405),
            (91001, 91019),
        ];
        for &(lo, hi) in ranges {
            v.extend(lo..=hi);
        }
        v
    }

    #[test]
    fn every_listed_code_is_specific() {
        for code in section_6_3_codes() {
            let info = lookup(code);
            assert_eq!(info.code, code);
            assert_ne!(info.message, GENERIC_MESSAGE, "code {code} is generic");
            assert!(info.message.ends_with('.'), "code {code}");
            // "What happened" + "what to do": at least two sentences.
            assert!(info.message.matches(". ").count() >= 1, "code {code} needs a second sentence: {}", info.message);
            assert!(!info.message.contains("  "), "code {code} has double spaces");
        }
    }

    #[test]
    fn extra_detail_codes_are_specific() {
        for code in (53010..=53019).chain([85051, 85052, 85088, 86072, 86074, 89044]) {
            assert_ne!(lookup(code).message, GENERIC_MESSAGE, "code {code}");
        }
    }

    #[test]
    fn classes() {
        assert_eq!(lookup(-1).class, ErrClass::Busy);
        for c in [40001, 40014, 42001, 42006] {
            assert_eq!(lookup(c).class, ErrClass::RefreshAndRetry);
        }
        for c in [61003, 61023, 61007] {
            assert_eq!(lookup(c).class, ErrClass::Reauthorize);
        }
        for c in [45009, 45011, 85085, 87013, 89405] {
            assert_eq!(lookup(c).class, ErrClass::QuotaBackoff);
        }
        for c in [61004, 40125, 85018, 86008] {
            assert_eq!(lookup(c).class, ErrClass::PlatformConfig);
        }
        for c in [61039, 85009, 85019] {
            assert_eq!(lookup(c).class, ErrClass::WaitAndPoll);
        }
        assert_eq!(lookup(86002).class, ErrClass::UserFix);
        assert_eq!(lookup(47001).class, ErrClass::RequestBug);
        assert!(lookup(85085).message.contains("monthly review quota"));
    }

    #[test]
    fn unknown_code_is_generic() {
        for code in [0, 1, 12345, 85005, 89260, 99999, i64::MAX, i64::MIN] {
            let info = lookup(code);
            assert_eq!(info.code, code);
            assert_eq!(info.message, GENERIC_MESSAGE);
            assert_eq!(info.class, ErrClass::RequestBug);
        }
    }

    #[test]
    fn token_errors() {
        for c in [40001, 40014, 42001, 42006] {
            assert!(is_token_error(c));
        }
        for c in [-1, 0, 40013, 41001, 61023, 42002] {
            assert!(!is_token_error(c));
        }
    }
}
