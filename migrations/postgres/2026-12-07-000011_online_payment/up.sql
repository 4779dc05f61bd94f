-- Online payment (seed 001 §3–4): each tenant's payment settings, its downstream buyers with
-- their prepaid deposit, sales orders and their lines, what a buyer is asked to pay (a pay
-- request, reached by a signed link), and what only a verified payment creates: payment
-- collections, transaction records and deposit credits; refunds.

-- A payment attempt (a QR code, a mini program prepay) belongs to the request it pays.
ALTER TABLE payments ADD COLUMN request_id TEXT;
CREATE INDEX payments_request ON payments(request_id);

CREATE TABLE payment_settings (
    tenant_id TEXT PRIMARY KEY NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    online_enabled BOOLEAN NOT NULL,
    order_payment BOOLEAN NOT NULL,
    collection_payment BOOLEAN NOT NULL,
    deposit_topup BOOLEAN NOT NULL,
    -- The Online Payment button's display conditions: order statuses (comma list), an
    -- amount range and a customer group (NULL: any).
    button_statuses TEXT NOT NULL,
    button_min_fen BIGINT,
    button_max_fen BIGINT,
    button_group TEXT,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE buyers (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    customer_group TEXT NOT NULL,
    -- The buyer's openid in the tenant's mini program (sub_openid of a JSAPI payment).
    openid TEXT,
    deposit_fen BIGINT NOT NULL CHECK (deposit_fen >= 0),
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE sales_orders (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    number TEXT NOT NULL,
    buyer_id TEXT NOT NULL REFERENCES buyers(id),
    payment_method TEXT NOT NULL CHECK (payment_method IN ('online', 'offline')),
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    paid_fen BIGINT NOT NULL,
    refunded_fen BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('unpaid', 'paid', 'refunded', 'cancelled')),
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, number)
);
CREATE INDEX sales_orders_list ON sales_orders(tenant_id, created_at);

CREATE TABLE sales_order_lines (
    id TEXT PRIMARY KEY NOT NULL,
    order_id TEXT NOT NULL REFERENCES sales_orders(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    product TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_fen BIGINT NOT NULL
);
CREATE INDEX sales_order_lines_order ON sales_order_lines(order_id, position);

CREATE TABLE pay_requests (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('order', 'deposit', 'other')),
    order_id TEXT REFERENCES sales_orders(id),
    buyer_id TEXT NOT NULL REFERENCES buyers(id),
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    description TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'paid', 'cancelled')),
    expires_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX pay_requests_list ON pay_requests(tenant_id, created_at);
CREATE INDEX pay_requests_order ON pay_requests(order_id);

-- Made only from a verified notification or a verified query result, once per payment.
CREATE TABLE payment_collections (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    request_id TEXT NOT NULL REFERENCES pay_requests(id),
    payment_id TEXT NOT NULL UNIQUE REFERENCES payments(id),
    buyer_id TEXT NOT NULL REFERENCES buyers(id),
    order_id TEXT REFERENCES sales_orders(id),
    purpose TEXT NOT NULL CHECK (purpose IN ('order', 'deposit', 'other')),
    channel TEXT NOT NULL CHECK (channel IN ('wechatpay', 'alipay')),
    amount_fen BIGINT NOT NULL,
    refunded_fen BIGINT NOT NULL,
    transaction_id TEXT,
    source TEXT NOT NULL CHECK (source IN ('notification', 'query')),
    collected_at BIGINT NOT NULL
);
CREATE INDEX payment_collections_list ON payment_collections(tenant_id, collected_at);

CREATE TABLE refunds (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    collection_id TEXT NOT NULL REFERENCES payment_collections(id),
    out_refund_no TEXT NOT NULL UNIQUE,
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    reason TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('processing', 'succeeded', 'failed')),
    refund_id TEXT,
    error TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    settled_at BIGINT
);
CREATE INDEX refunds_collection ON refunds(collection_id);

-- Money in (a payment) and out (a refund), one row each.
CREATE TABLE transaction_records (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    collection_id TEXT NOT NULL REFERENCES payment_collections(id),
    kind TEXT NOT NULL CHECK (kind IN ('payment', 'refund')),
    channel TEXT NOT NULL CHECK (channel IN ('wechatpay', 'alipay')),
    amount_fen BIGINT NOT NULL,
    reference TEXT NOT NULL,
    at BIGINT NOT NULL,
    UNIQUE (kind, channel, reference)
);
CREATE INDEX transaction_records_list ON transaction_records(tenant_id, at);

CREATE TABLE deposit_ledger (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    buyer_id TEXT NOT NULL REFERENCES buyers(id),
    delta_fen BIGINT NOT NULL,
    balance_fen BIGINT NOT NULL,
    collection_id TEXT NOT NULL REFERENCES payment_collections(id),
    refund_id TEXT REFERENCES refunds(id),
    at BIGINT NOT NULL
);
CREATE INDEX deposit_ledger_buyer ON deposit_ledger(buyer_id, at);
