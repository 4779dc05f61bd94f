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
        locale -> Nullable<Text>,
    }
}

diesel::table! {
    user_sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        last_seen_at -> BigInt,
        user_agent -> Text,
        ip -> Text,
        public_id -> Text,
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
        linked_oa_subject -> Nullable<Text>,
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
        body_html -> Nullable<Text>,
        locale -> Nullable<Text>,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        last_attempt_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        claimed_by -> Nullable<Text>,
        claimed_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(user_sessions -> users (user_id));
diesel::joinable!(applications -> users (user_id));
diesel::joinable!(application_history -> applications (application_id));
diesel::joinable!(tenant_members -> tenants (tenant_id));
diesel::joinable!(mp_bindings -> tenants (tenant_id));
diesel::joinable!(tenant_members -> users (user_id));

diesel::table! {
    platform_credentials (name) {
        name -> Text,
        value_enc -> Text,
        obtained_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    authorizers (appid) {
        appid -> Text,
        status -> Text,
        refresh_token_enc -> Nullable<Text>,
        access_token_enc -> Nullable<Text>,
        access_expires_at -> BigInt,
        func_ids -> Text,
        nick_name -> Text,
        head_img -> Text,
        user_name -> Text,
        principal_name -> Text,
        service_type -> Integer,
        verify_type -> Integer,
        is_mini_program -> Bool,
        info_json -> Text,
        authorized_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    leases (name) {
        name -> Text,
        owner -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    wechat_events (id) {
        id -> Text,
        endpoint -> Text,
        path_appid -> Nullable<Text>,
        received_at -> BigInt,
        msg_timestamp -> BigInt,
        nonce -> Text,
        raw_body -> Text,
        decoded -> Text,
        info_type -> Text,
        authorizer_appid -> Nullable<Text>,
        dedupe_key -> Text,
        status -> Text,
        outcome -> Text,
        attempts -> Integer,
        processed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    event_nonces (nonce, msg_timestamp) {
        nonce -> Text,
        msg_timestamp -> BigInt,
        seen_at -> BigInt,
    }
}

diesel::table! {
    jobs (id) {
        id -> Text,
        kind -> Text,
        payload -> Text,
        unique_key -> Nullable<Text>,
        status -> Text,
        run_at -> BigInt,
        attempts -> Integer,
        max_attempts -> Integer,
        locked_by -> Nullable<Text>,
        locked_until -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    auth_states (state) {
        state -> Text,
        purpose -> Text,
        tenant_id -> Nullable<Text>,
        user_id -> Text,
        session_id -> Text,
        pre_auth_code -> Text,
        biz_appid -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        result_appid -> Nullable<Text>,
        result -> Nullable<Text>,
        result_sets -> Nullable<Text>,
        result_failure -> Nullable<Text>,
        result_code -> Nullable<BigInt>,
    }
}

diesel::table! {
    platform_settings (key) {
        key -> Text,
        value -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    mp_bindings (id) {
        id -> Text,
        tenant_id -> Text,
        appid -> Text,
        application -> Text,
        status -> Text,
        subject_warning -> Bool,
        bound_by -> Nullable<Text>,
        bound_at -> BigInt,
        reauthorized_at -> Nullable<BigInt>,
        ended_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    requirement_snapshots (tenant_id) {
        tenant_id -> Text,
        appid -> Text,
        body -> Text,
        checked_at -> BigInt,
    }
}

diesel::table! {
    requirements (tenant_id, item) {
        tenant_id -> Text,
        item -> Text,
        state -> Text,
        problems -> Text,
        deadline -> Nullable<BigInt>,
        failure_kind -> Nullable<Text>,
        failure_code -> Nullable<BigInt>,
        remedy -> Text,
        changed_at -> BigInt,
        evaluated_at -> BigInt,
    }
}

diesel::table! {
    requirement_history (id) {
        id -> Text,
        tenant_id -> Text,
        item -> Text,
        from_state -> Nullable<Text>,
        to_state -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    requirement_confirmations (tenant_id, item) {
        tenant_id -> Text,
        item -> Text,
        confirmed_by -> Text,
        confirmed_at -> BigInt,
    }
}

diesel::table! {
    template_versions (id) {
        id -> Text,
        template_id -> BigInt,
        version -> Text,
        sort_key -> Text,
        notes -> Text,
        user_version -> Text,
        published_by -> Text,
        published_at -> BigInt,
    }
}

diesel::table! {
    releases (tenant_id, appid) {
        tenant_id -> Text,
        appid -> Text,
        stage -> Text,
        step -> Nullable<Text>,
        version_id -> Nullable<Text>,
        version -> Nullable<Text>,
        auditid -> Nullable<BigInt>,
        submitted_at -> Nullable<BigInt>,
        expedited -> Bool,
        reason -> Text,
        screenshots -> Text,
        blockers -> Text,
        failure_kind -> Nullable<Text>,
        failure_code -> Nullable<BigInt>,
        scan_attempts -> Integer,
        polled_at -> Nullable<BigInt>,
        released_version_id -> Nullable<Text>,
        released_version -> Nullable<Text>,
        released_at -> Nullable<BigInt>,
        campaign_id -> Nullable<Text>,
        stage_changed_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    release_history (id) {
        id -> Text,
        tenant_id -> Text,
        appid -> Text,
        action -> Text,
        version_id -> Nullable<Text>,
        version -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    review_withdrawals (id) {
        id -> Text,
        tenant_id -> Text,
        appid -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    campaigns (id) {
        id -> Text,
        version_id -> Text,
        version -> Text,
        state -> Text,
        active_key -> Nullable<Text>,
        pause_reason -> Nullable<Text>,
        phase -> Text,
        after_canary -> Text,
        target -> Text,
        target_list -> Text,
        canary -> Text,
        canary_size -> Integer,
        concurrency -> Integer,
        calls_per_minute -> Integer,
        auto_publish -> Bool,
        total -> Integer,
        quota_rest_at_start -> Nullable<BigInt>,
        quota_checked_at -> Nullable<BigInt>,
        created_by -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        finished_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    campaign_tenants (campaign_id, tenant_id) {
        campaign_id -> Text,
        tenant_id -> Text,
        appid -> Text,
        position -> Integer,
        cohort -> Text,
        state -> Text,
        note -> Nullable<Text>,
        attempts -> Integer,
        started_at -> Nullable<BigInt>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    call_pacers (key) {
        key -> Text,
        next_at_us -> BigInt,
    }
}

diesel::table! {
    wechatpay_provider (id) {
        id -> Text,
        sp_mchid -> Text,
        sp_appid -> Text,
        api_v3_key_sealed -> Text,
        private_key_sealed -> Text,
        cert_serial -> Text,
        cert_pem -> Nullable<Text>,
        cert_not_after -> Nullable<BigInt>,
        verify_mode -> Text,
        platform_serial -> Text,
        platform_pem -> Text,
        platform_not_after -> Nullable<BigInt>,
        checked_at -> Nullable<BigInt>,
        check_error -> Nullable<Text>,
        updated_by -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    wechatpay_applications (id) {
        id -> Text,
        tenant_id -> Text,
        current_key -> Nullable<Text>,
        business_code -> Text,
        state -> Text,
        state_msg -> Text,
        applyment_id -> Nullable<BigInt>,
        sub_mchid -> Nullable<Text>,
        sign_url -> Nullable<Text>,
        audit_detail -> Text,
        merchant_name -> Text,
        sub_appid -> Nullable<Text>,
        form -> Text,
        sensitive_sealed -> Text,
        last_error -> Nullable<Text>,
        submitted_at -> Nullable<BigInt>,
        checked_at -> Nullable<BigInt>,
        next_check_at -> Nullable<BigInt>,
        finished_at -> Nullable<BigInt>,
        replaced_at -> Nullable<BigInt>,
        created_by -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    alipay_accounts (id) {
        id -> Text,
        tenant_id -> Text,
        current_key -> Nullable<Text>,
        app_id -> Text,
        private_key_sealed -> Text,
        alipay_public_key_sealed -> Text,
        key_hint -> Text,
        verified_at -> BigInt,
        checked_at -> Nullable<BigInt>,
        check_error -> Nullable<Text>,
        replaced_at -> Nullable<BigInt>,
        created_by -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    wechatpay_bindings (tenant_id, sub_mchid, appid) {
        tenant_id -> Text,
        sub_mchid -> Text,
        appid -> Text,
        state -> Text,
        method -> Text,
        detail -> Nullable<Text>,
        checked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    payments (id) {
        id -> Text,
        tenant_id -> Text,
        purpose -> Text,
        channel -> Text,
        out_trade_no -> Text,
        merchant -> Text,
        amount_fen -> BigInt,
        description -> Text,
        state -> Text,
        code_url -> Nullable<Text>,
        transaction_id -> Nullable<Text>,
        paid_at -> Nullable<BigInt>,
        out_refund_no -> Nullable<Text>,
        refunded_at -> Nullable<BigInt>,
        error -> Nullable<Text>,
        created_by -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    payment_notifications (id) {
        id -> Text,
        channel -> Text,
        notify_id -> Text,
        event_type -> Text,
        out_trade_no -> Nullable<Text>,
        payment_id -> Nullable<Text>,
        body -> Text,
        received_at -> BigInt,
        times_received -> Integer,
    }
}

diesel::joinable!(requirements -> tenants (tenant_id));
diesel::joinable!(requirement_snapshots -> tenants (tenant_id));
diesel::joinable!(campaign_tenants -> campaigns (campaign_id));
diesel::joinable!(campaign_tenants -> tenants (tenant_id));
diesel::joinable!(wechatpay_applications -> tenants (tenant_id));
diesel::joinable!(alipay_accounts -> tenants (tenant_id));
diesel::joinable!(payments -> tenants (tenant_id));

diesel::table! {
    payment_settings (tenant_id) {
        tenant_id -> Text,
        online_enabled -> Bool,
        order_payment -> Bool,
        collection_payment -> Bool,
        deposit_topup -> Bool,
        button_statuses -> Text,
        button_min_fen -> Nullable<BigInt>,
        button_max_fen -> Nullable<BigInt>,
        button_group -> Nullable<Text>,
        updated_by -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    buyers (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        customer_group -> Text,
        openid -> Nullable<Text>,
        deposit_fen -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    sales_orders (id) {
        id -> Text,
        tenant_id -> Text,
        number -> Text,
        buyer_id -> Text,
        payment_method -> Text,
        amount_fen -> BigInt,
        paid_fen -> BigInt,
        refunded_fen -> BigInt,
        status -> Text,
        created_by -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    sales_order_lines (id) {
        id -> Text,
        order_id -> Text,
        position -> Integer,
        product -> Text,
        quantity -> BigInt,
        unit_fen -> BigInt,
    }
}

diesel::table! {
    pay_requests (id) {
        id -> Text,
        tenant_id -> Text,
        purpose -> Text,
        order_id -> Nullable<Text>,
        buyer_id -> Text,
        amount_fen -> BigInt,
        description -> Text,
        state -> Text,
        expires_at -> BigInt,
        created_by -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    payment_collections (id) {
        id -> Text,
        tenant_id -> Text,
        request_id -> Text,
        payment_id -> Text,
        buyer_id -> Text,
        order_id -> Nullable<Text>,
        purpose -> Text,
        channel -> Text,
        amount_fen -> BigInt,
        refunded_fen -> BigInt,
        transaction_id -> Nullable<Text>,
        source -> Text,
        collected_at -> BigInt,
    }
}

diesel::table! {
    refunds (id) {
        id -> Text,
        tenant_id -> Text,
        collection_id -> Text,
        out_refund_no -> Text,
        amount_fen -> BigInt,
        reason -> Text,
        state -> Text,
        refund_id -> Nullable<Text>,
        error -> Nullable<Text>,
        created_by -> Text,
        created_at -> BigInt,
        settled_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    transaction_records (id) {
        id -> Text,
        tenant_id -> Text,
        collection_id -> Text,
        kind -> Text,
        channel -> Text,
        amount_fen -> BigInt,
        reference -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    deposit_ledger (id) {
        id -> Text,
        tenant_id -> Text,
        buyer_id -> Text,
        delta_fen -> BigInt,
        balance_fen -> BigInt,
        collection_id -> Text,
        refund_id -> Nullable<Text>,
        at -> BigInt,
    }
}

diesel::joinable!(sales_orders -> buyers (buyer_id));
diesel::joinable!(payment_collections -> buyers (buyer_id));

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
    platform_credentials,
    authorizers,
    leases,
    wechat_events,
    event_nonces,
    jobs,
    auth_states,
    platform_settings,
    mp_bindings,
    requirement_snapshots,
    requirements,
    requirement_history,
    requirement_confirmations,
    template_versions,
    releases,
    release_history,
    review_withdrawals,
    campaigns,
    wechatpay_provider,
    wechatpay_applications,
    alipay_accounts,
    wechatpay_bindings,
    payments,
    payment_notifications,
    campaign_tenants,
    call_pacers,
    payment_settings,
    buyers,
    sales_orders,
    sales_order_lines,
    pay_requests,
    payment_collections,
    refunds,
    transaction_records,
    deposit_ledger,
);

// ---- official accounts (2026-12-07-000012) ----

diesel::table! {
    official_accounts (id) {
        id -> Text,
        tenant_id -> Text,
        appid -> Text,
        status -> Text,
        bound_by -> Nullable<Text>,
        bound_at -> BigInt,
        reauthorized_at -> Nullable<BigInt>,
        ended_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    oa_link_requests (id) {
        id -> Text,
        tenant_id -> Text,
        oa_appid -> Text,
        mp_appid -> Text,
        notify_users -> Bool,
        show_profile -> Bool,
        requested_at -> BigInt,
    }
}

diesel::joinable!(official_accounts -> tenants (tenant_id));
diesel::allow_tables_to_appear_in_same_query!(official_accounts, tenants);
diesel::allow_tables_to_appear_in_same_query!(official_accounts, authorizers);

// ---- live selling (migration 2026-12-07-000013_live_selling) ----

diesel::table! {
    capabilities (key) {
        key -> Text,
        status -> Text,
        since -> Text,
        note -> Text,
        updated_by -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    live_selling (tenant_id) {
        tenant_id -> Text,
        appid -> Text,
        world -> Text,
        reading -> Text,
        failure_kind -> Nullable<Text>,
        failure_code -> Nullable<BigInt>,
        checked_at -> BigInt,
    }
}

diesel::table! {
    live_selling_items (id) {
        id -> Text,
        tenant_id -> Text,
        appid -> Text,
        kind -> Text,
        wx_id -> Text,
        label -> Text,
        status -> Text,
        stage -> Text,
        reason -> Text,
        scene -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    live_selling_people (id) {
        id -> Text,
        tenant_id -> Text,
        appid -> Text,
        role -> Text,
        openid -> Text,
        name -> Text,
        status -> Text,
        bound_at -> Nullable<BigInt>,
        changes -> Text,
        reason -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

// ---- accounts (migration 2026-12-07-000015_accounts) ----

diesel::table! {
    rate_events (id) {
        id -> Text,
        kind -> Text,
        key -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    password_resets (id) {
        id -> Text,
        user_id -> Text,
        token_hash -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    invitations (id) {
        id -> Text,
        tenant_id -> Text,
        email -> Text,
        role -> Text,
        token_hash -> Text,
        invited_by -> Nullable<Text>,
        created_at -> BigInt,
        sent_at -> BigInt,
        expires_at -> BigInt,
        accepted_at -> Nullable<BigInt>,
        accepted_by -> Nullable<Text>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    user_totp (user_id) {
        user_id -> Text,
        secret_enc -> Text,
        created_at -> BigInt,
        confirmed_at -> Nullable<BigInt>,
        last_step -> BigInt,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> Text,
        user_id -> Text,
        code_hash -> Text,
        created_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(password_resets -> users (user_id));
diesel::joinable!(invitations -> tenants (tenant_id));
diesel::joinable!(user_totp -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(rate_events, password_resets, invitations, user_totp, recovery_codes);
diesel::allow_tables_to_appear_in_same_query!(users, password_resets);
diesel::allow_tables_to_appear_in_same_query!(users, invitations);
diesel::allow_tables_to_appear_in_same_query!(users, user_totp);
diesel::allow_tables_to_appear_in_same_query!(users, recovery_codes);
diesel::allow_tables_to_appear_in_same_query!(user_sessions, user_totp);
diesel::allow_tables_to_appear_in_same_query!(tenants, invitations);
diesel::allow_tables_to_appear_in_same_query!(tenant_members, invitations);
