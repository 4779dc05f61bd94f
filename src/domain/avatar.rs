//! The default workspace logo: the company name's first character on a solid colour.

/// Colours with enough contrast for white text (WCAG AA at large sizes).
pub const PALETTE: [&str; 10] =
    ["#1a7f5a", "#2563eb", "#7c3aed", "#c2410c", "#0f766e", "#b91c1c", "#4338ca", "#a16207", "#be185d", "#0e7490"];

/// The stylesheet's class for each colour of [`PALETTE`] (same order): pages set colours
/// by class, since the Content-Security-Policy allows no inline style.
pub const CLASSES: [&str; 10] = [
    "avatar-c0",
    "avatar-c1",
    "avatar-c2",
    "avatar-c3",
    "avatar-c4",
    "avatar-c5",
    "avatar-c6",
    "avatar-c7",
    "avatar-c8",
    "avatar-c9",
];

/// The class that paints a stored colour; a colour not in the palette is shown grey.
pub fn color_class(color: &str) -> &'static str {
    PALETTE.iter().position(|c| c.eq_ignore_ascii_case(color)).map_or("avatar-grey", |i| CLASSES[i])
}

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
    fn each_colour_has_a_class_in_the_stylesheet() {
        let css = include_str!("../../static/app.css");
        for (color, class) in PALETTE.iter().zip(CLASSES) {
            assert_eq!(color_class(color), class);
            assert!(css.contains(&format!(".{class} {{ background: {color}; }}")), "{class} in app.css");
        }
        assert_eq!(color_class("#123456"), "avatar-grey");
        assert!(css.contains(".avatar-grey {"));
    }

    #[test]
    fn pick_color_is_always_in_the_palette() {
        for n in [0, 1, 9, 10, u32::MAX] {
            assert!(PALETTE.contains(&pick_color(n)));
        }
    }
}
