pub fn admin() -> &'static [u8] {
    b"admin/admin"
}

/// The height at which the admin retired (absent while there is an admin).
pub fn retired_at() -> &'static [u8] {
    b"admin/retired_at"
}
