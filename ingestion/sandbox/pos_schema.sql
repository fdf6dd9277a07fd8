-- POS database of the sandbox retailer. Portable DDL: loads into SQLite and PostgreSQL.
-- Timestamps are naive Europe/Madrid wall-clock time, as the tills write them.
CREATE TABLE stores (
    store_id VARCHAR(16) PRIMARY KEY,
    name VARCHAR(120) NOT NULL,
    city VARCHAR(80) NOT NULL,
    province VARCHAR(80) NOT NULL,
    phone VARCHAR(32),
    opened_on DATE NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE TABLE transactions (
    transaction_id VARCHAR(32) PRIMARY KEY,
    store_id VARCHAR(16) NOT NULL REFERENCES stores (store_id),
    occurred_at TIMESTAMP NOT NULL,
    loyalty_card VARCHAR(32),
    phone_typed VARCHAR(32),
    receipt_email VARCHAR(160),
    card_fingerprint VARCHAR(64),
    payment_method VARCHAR(16) NOT NULL,
    total_amount NUMERIC(12, 2) NOT NULL,
    staff_id VARCHAR(32),
    updated_at TIMESTAMP NOT NULL
);
CREATE TABLE transaction_lines (
    transaction_id VARCHAR(32) NOT NULL REFERENCES transactions (transaction_id),
    line_no INTEGER NOT NULL,
    sku VARCHAR(32) NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price NUMERIC(12, 2) NOT NULL,
    line_amount NUMERIC(12, 2) NOT NULL,
    PRIMARY KEY (transaction_id, line_no)
);
CREATE TABLE returns (
    return_id VARCHAR(32) PRIMARY KEY,
    store_id VARCHAR(16) NOT NULL REFERENCES stores (store_id),
    returned_at TIMESTAMP NOT NULL,
    original_transaction_id VARCHAR(32),
    original_order_id VARCHAR(32),
    sku VARCHAR(32) NOT NULL,
    quantity INTEGER NOT NULL,
    refund_amount NUMERIC(12, 2) NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE TABLE pickups (
    pickup_id VARCHAR(32) PRIMARY KEY,
    order_id VARCHAR(32) NOT NULL,
    store_id VARCHAR(16) NOT NULL REFERENCES stores (store_id),
    ready_at TIMESTAMP NOT NULL,
    picked_up_at TIMESTAMP,
    status VARCHAR(16) NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE TABLE inventory_daily (
    snapshot_date DATE NOT NULL,
    store_id VARCHAR(16) NOT NULL REFERENCES stores (store_id),
    sku VARCHAR(32) NOT NULL,
    on_hand INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (snapshot_date, store_id, sku)
);
CREATE INDEX ix_transactions_updated_at ON transactions (updated_at);
CREATE INDEX ix_returns_updated_at ON returns (updated_at);
CREATE INDEX ix_pickups_updated_at ON pickups (updated_at);
CREATE INDEX ix_inventory_daily_updated_at ON inventory_daily (updated_at);
