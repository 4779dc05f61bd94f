//! WeChat's authorization page (reference §1.6) under `/sandbox/mp`: the PC page
//! `cgi-bin/componentloginpage` and the mobile link `safe/bindcomponent` render the same
//! page, where "scanning the QR code" is clicking here. The form posts back to the same
//! path; like WeChat's own page it has no session and no CSRF cookie: the form's
//! one-time field is the `pre_auth_code` itself, used up by the first successful post.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::page::{SandboxCtx, SandboxError};
use super::{Sandbox, api, run_sim, sim, store, with_conn};

/// The query (GET) or form (POST) parameters of the page.
#[derive(Default, Clone)]
struct Params {
    component_appid: String,
    pre_auth_code: String,
    redirect_uri: String,
    auth_type: String,
    biz_appid: String,
    category_id_list: String,
    appid: Option<String>,
    func_ids: Vec<i64>,
}

impl Params {
    fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut p = Self::default();
        for (k, v) in pairs {
            let v = v.trim().to_string();
            match k.as_str() {
                "component_appid" => p.component_appid = v,
                "pre_auth_code" => p.pre_auth_code = v,
                "redirect_uri" => p.redirect_uri = v,
                "auth_type" => p.auth_type = v,
                "biz_appid" => p.biz_appid = v,
                "category_id_list" => p.category_id_list = v,
                "appid" if !v.is_empty() => p.appid = Some(v),
                "func_id" => {
                    if let Ok(id) = v.parse() {
                        p.func_ids.push(id);
                    }
                }
                _ => {}
            }
        }
        p
    }

    /// `1` official accounts only, `2` mini programs only, anything else both.
    fn refusal_for(&self, kind: &str) -> Option<&'static str> {
        match (self.auth_type.as_str(), kind) {
            ("1", "mp") => Some("sandbox.auth.only_oa"),
            ("2", "oa") => Some("sandbox.auth.only_mp"),
            _ => None,
        }
    }

    fn preselected(&self) -> Option<Vec<i64>> {
        let ids: Vec<i64> = self.category_id_list.split(['|', ',']).filter_map(|s| s.trim().parse().ok()).collect();
        (!ids.is_empty()).then_some(ids)
    }
}

pub struct AccountChoice {
    pub appid: String,
    pub nick_name: String,
    pub kind: String,
    pub principal_name: String,
    pub verified: bool,
    pub authorized: bool,
    pub refusal: Option<String>,
    pub checked: bool,
}

pub struct FuncChoice {
    pub id: i64,
    pub name: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "sandbox/authorize.html")]
struct AuthorizePage {
    ctx: SandboxCtx,
    action: String,
    component_appid: String,
    pre_auth_code: String,
    redirect_uri: String,
    auth_type: String,
    biz_appid: String,
    category_id_list: String,
    accounts: Vec<AccountChoice>,
    mp_funcs: Vec<FuncChoice>,
    oa_funcs: Vec<FuncChoice>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "sandbox/authorize_error.html")]
struct AuthorizeError {
    ctx: SandboxCtx,
    message: String,
}

/// WeChat's "authorization failed" page (200, as WeChat answers it).
fn error_page(ctx: SandboxCtx, key: &str) -> Result<HttpResponse, SandboxError> {
    let message = ctx.t(key);
    ctx.reply(false).ok(&AuthorizeError { ctx, message })
}

fn func_choices(ctx: &SandboxCtx, ids: &[i64], ticked: &dyn Fn(i64) -> bool) -> Vec<FuncChoice> {
    ids.iter().map(|&id| FuncChoice { id, name: ctx.t(&format!("sandbox.func.{id}")), checked: ticked(id) }).collect()
}

async fn render(
    ctx: SandboxCtx,
    sb: &Sandbox,
    path: &str,
    p: Params,
    error: Option<&str>,
) -> Result<HttpResponse, SandboxError> {
    let component = sb.config.component_appid.clone();
    let (code, cid) = (p.pre_auth_code.clone(), p.component_appid.clone());
    let loaded = with_conn(&sb.pool, move |c| {
        if cid != component {
            return Err(sim::SimError::Refused("sandbox.err.component_invalid"));
        }
        sim::check_pre_auth_code(c, &component, &code, crate::now())?;
        Ok((store::list_accounts(c)?, store::list_authorizations(c)?))
    })
    .await
    .map_err(|_| ctx.internal())?;
    let (accounts, auths) = match loaded {
        Ok(x) => x,
        Err(sim::SimError::Db(e)) => {
            tracing::error!(error = %e, "sandbox: cannot load the authorization page");
            return Err(ctx.internal());
        }
        Err(e) => return error_page(ctx, e.key()),
    };
    if let Err(e) = sim::check_redirect_uri(&sb.config.public_url, &p.redirect_uri) {
        return error_page(ctx, e.key());
    }
    let mut first_enabled = true;
    let choices: Vec<AccountChoice> = accounts
        .into_iter()
        .filter(|a| p.biz_appid.is_empty() || a.appid == p.biz_appid)
        .map(|a| {
            let refusal = p.refusal_for(&a.kind).map(|k| ctx.t(k));
            let checked = match &p.appid {
                Some(chosen) => *chosen == a.appid && refusal.is_none(),
                None => refusal.is_none() && std::mem::take(&mut first_enabled),
            };
            AccountChoice {
                authorized: auths.iter().any(|x| x.authorizer_appid == a.appid && x.active),
                appid: a.appid,
                nick_name: a.nick_name,
                kind: a.kind,
                principal_name: a.principal_name,
                verified: a.verified,
                refusal,
                checked,
            }
        })
        .collect();
    let chosen = if error.is_some() { Some(p.func_ids.clone()) } else { p.preselected() };
    let ticked = |id: i64| chosen.as_ref().is_none_or(|ids| ids.contains(&id));
    let mp_funcs = func_choices(&ctx, &sim::MP_FUNC_IDS, &ticked);
    let oa_funcs = func_choices(&ctx, &sim::OA_FUNC_IDS, &ticked);
    let error = error.map(|k| ctx.t(k));
    let reply = ctx.reply(false);
    reply.ok(&AuthorizePage {
        ctx,
        action: format!("/sandbox/mp/{}", path.trim_start_matches("/sandbox/mp/")),
        component_appid: p.component_appid,
        pre_auth_code: p.pre_auth_code,
        redirect_uri: p.redirect_uri,
        auth_type: p.auth_type,
        biz_appid: p.biz_appid,
        category_id_list: p.category_id_list,
        accounts: choices,
        mp_funcs,
        oa_funcs,
        error,
    })
}

/// `GET /sandbox/mp/cgi-bin/componentloginpage` and `/sandbox/mp/safe/bindcomponent`.
pub async fn show(ctx: SandboxCtx, sb: web::Data<Sandbox>, req: HttpRequest) -> Result<HttpResponse, SandboxError> {
    let params = Params::from_pairs(api::query_map(&req));
    render(ctx, &sb, req.path(), params, None).await
}

/// The Authorize button.
pub async fn confirm(
    ctx: SandboxCtx,
    sb: web::Data<Sandbox>,
    req: HttpRequest,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, SandboxError> {
    let p = Params::from_pairs(form.into_inner());
    let appid = sb.config.component_appid.clone();
    if p.component_appid != appid {
        return error_page(ctx, "sandbox.err.component_invalid");
    }
    let Some(chosen) = p.appid.clone() else {
        return render(ctx, &sb, req.path(), p, Some("sandbox.auth.choose_account")).await;
    };
    let lookup = chosen.clone();
    let account = match with_conn(&sb.pool, move |c| store::find_account(c, &lookup)).await {
        Ok(Ok(account)) => account,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "sandbox: cannot read an account");
            return Err(ctx.internal());
        }
        Err(_) => return Err(ctx.internal()),
    };
    let allowed = account
        .as_ref()
        .is_some_and(|a| (p.biz_appid.is_empty() || p.biz_appid == a.appid) && p.refusal_for(&a.kind).is_none());
    let Some(account) = account.filter(|_| allowed) else {
        return render(ctx, &sb, req.path(), p, Some("sandbox.auth.choose_account")).await;
    };
    if sim::normalize_func_ids(&account.kind, &p.func_ids).is_empty() {
        return render(ctx, &sb, req.path(), p, Some("sandbox.auth.choose_permissions")).await;
    }
    let public = sb.config.public_url.clone();
    let (code, funcs, redirect) = (p.pre_auth_code.clone(), p.func_ids.clone(), p.redirect_uri.clone());
    let result = run_sim(&sb.pool, move |c, now| {
        let request =
            sim::AuthorizeInput { pre_auth_code: &code, appid: &chosen, func_ids: &funcs, redirect_uri: &redirect };
        sim::authorize(c, &appid, &public, &request, now)
    })
    .await;
    match result {
        Ok(done) => {
            sb.pusher.wake();
            Ok(HttpResponse::Found().insert_header(("Location", done.redirect)).finish())
        }
        Err(e) => error_page(ctx, e.key()),
    }
}
