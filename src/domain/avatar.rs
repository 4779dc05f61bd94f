//! The default workspace logo: the company name's first character on a solid colour.

/// Colours with enough contrast for white text (WCAG AA at large sizes).
pub const PALETTE: [&str; 10] =
    ["#1a7f5a", "#2563eb", "#7c3aed", "#c2410c", "#0f766e", "#b91c1c", "#4338ca", "#a16207", "#be185d", "#0e7490"];

/// Picks a colour from a random number; called once when the application is created.
pub fn pick_color(random: u32) -> &'static str {
    PALETTE[random as usize % PALETTE.len()]
}

/// The first visible character of the name, upper-cased where the script has case.
pub fn initial(name: &str) -> String {
    match name.trim().chars().next() {
        Some(c) => c.to_uppercase().collect(),
        None => "?".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_handles_any_script() {
        assert_eq!(initial("acme trading"), "A");
        assert_eq!(initial("  北京小程序科技有限公司"), "北");
        assert_eq!(initial("éclair"), "É");
        assert_eq!(initial(""), "?");
    }

    #[test]
    fn pick_color_is_always_in_the_palette() {
        for n in [0, 1, 9, 10, u32::MAX] {
            assert!(PALETTE.contains(&pick_color(n)));
        }
    }
}
