// Kept in step with migrations/{sqlite,postgres}; types are the portable subset
// that diesel's MultiConnection supports (Text, BigInt, Integer, Bool, Binary).

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        is_operator -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    user_sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Text,
        email -> Text,
        ip -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    applications (id) {
        id -> Text,
        user_id -> Text,
        status -> Text,
        step -> Integer,
        role -> Nullable<Text>,
        company_name -> Text,
        website -> Text,
        contact_phone -> Text,
        contact_email -> Text,
        logo -> Nullable<Binary>,
        logo_mime -> Nullable<Text>,
        avatar_color -> Text,
        rejection_reason -> Nullable<Text>,
        tenant_id -> Nullable<Text>,
        submitted_at -> Nullable<BigInt>,
        decided_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    application_history (id) {
        id -> Text,
        application_id -> Text,
        kind -> Text,
        actor_user_id -> Nullable<Text>,
        reason -> Nullable<Text>,
        snapshot -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    tenants (id) {
        id -> Text,
        name -> Text,
        logo -> Nullable<Binary>,
        logo_mime -> Nullable<Text>,
        avatar_color -> Text,
        website -> Text,
        contact_phone -> Text,
        contact_email -> Text,
        application_id -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    tenant_members (tenant_id, user_id) {
        tenant_id -> Text,
        user_id -> Text,
        role -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        at -> BigInt,
        actor_user_id -> Nullable<Text>,
        actor_label -> Text,
        tenant_id -> Nullable<Text>,
        action -> Text,
        subject -> Text,
        before_state -> Nullable<Text>,
        after_state -> Nullable<Text>,
    }
}

diesel::table! {
    outbox_emails (id) {
        id -> Text,
        to_address -> Text,
        subject -> Text,
        body_text -> Text,
        status -> Text,
        created_at -> BigInt,
        sent_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(user_sessions -> users (user_id));
diesel::joinable!(applications -> users (user_id));
diesel::joinable!(application_history -> applications (application_id));
diesel::joinable!(tenant_members -> tenants (tenant_id));
diesel::joinable!(tenant_members -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    user_sessions,
    login_failures,
    applications,
    application_history,
    tenants,
    tenant_members,
    audit_log,
    outbox_emails,
);
