pub fn admin() -> &'static [u8] {
    b"admin/admin"
}
