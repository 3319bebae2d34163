//! State keys of x/auth.

pub fn params() -> &'static [u8] {
    b"auth/params"
}

pub fn next_account_number() -> &'static [u8] {
    b"auth/next_account_number"
}

pub fn accounts_prefix() -> &'static [u8] {
    b"auth/account/"
}

pub fn account(address: &str) -> Vec<u8> {
    [accounts_prefix(), address.as_bytes()].concat()
}
