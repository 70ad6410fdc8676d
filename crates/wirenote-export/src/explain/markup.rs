//! Markup helpers shared by the SVG and the HTML: escaping every string that may come
//! from a capture, and estimating how wide a text is without a font at hand.

/// `text` with `& < > " '` escaped, for XML/HTML text and attribute values alike (a URI
/// like `/<script>` stays text). Control characters, which XML 1.0 forbids even as
/// references, become U+FFFD.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{fffe}' || c == '\u{ffff}' => {
                out.push('\u{fffd}')
            }
            c => out.push(c),
        }
    }
    out
}

/// Whether `c` is drawn about one em wide (CJK ideographs, kana, Hangul, full-width
/// forms, and the general punctuation and arrows CJK fonts draw wide).
fn is_wide(c: char) -> bool {
    let c = c as u32;
    (0x2000..=0x2BFF).contains(&c)
        || (0x2E80..=0xA4CF).contains(&c)
        || (0xAC00..=0xD7A3).contains(&c)
        || (0xF900..=0xFAFF).contains(&c)
        || (0xFE30..=0xFE4F).contains(&c)
        || (0xFF00..=0xFF60).contains(&c)
        || (0xFFE0..=0xFFE6).contains(&c)
        || c >= 0x20000
}

/// An estimate of `text`'s width at `size` pixels: a wide glyph ≈ 1 em, any other ≈
/// 0.6 em (generous for proportional Latin fonts, so labels do not overlap).
pub(crate) fn width(text: &str, size: f64) -> f64 {
    text.chars()
        .map(|c| if is_wide(c) { 1.0 } else { 0.6 })
        .sum::<f64>()
        * size
}

/// `text` broken into lines no wider than `max` pixels at `size`: after a space or
/// between two wide glyphs where possible, anywhere in a word longer than a line.
pub(crate) fn wrap(text: &str, size: f64, max: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut line_width = 0.0;
    // Byte offset in `line` just after the last place it may break.
    let mut last_break: Option<usize> = None;
    for c in text.chars() {
        let w = width(c.encode_utf8(&mut [0; 4]), size);
        if line_width + w > max && !line.is_empty() {
            let cut = if c == ' ' {
                line.len()
            } else {
                last_break.unwrap_or(line.len())
            };
            let rest = line.split_off(cut);
            lines.push(line.trim_end().to_string());
            line = rest.trim_start().to_string();
            line_width = width(&line, size);
            last_break = None;
            if c == ' ' {
                continue;
            }
        }
        if is_wide(c) && !line.is_empty() {
            last_break = Some(line.len());
        }
        line.push(c);
        line_width += w;
        if c == ' ' || is_wide(c) {
            last_break = Some(line.len());
        }
    }
    if !line.trim().is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_text_stays_text() {
        assert_eq!(
            escape("/<script>alert('x')</script>&\"\u{1}"),
            "/&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;\u{fffd}"
        );
    }

    #[test]
    fn chinese_is_wider_than_ascii() {
        assert_eq!(width("ab", 10.0), 12.0);
        assert_eq!(width("三次", 10.0), 20.0);
    }

    #[test]
    fn wrapping_breaks_at_spaces_and_between_ideographs() {
        assert_eq!(wrap("aaa bbb ccc", 10.0, 45.0), ["aaa bbb", "ccc"]);
        assert_eq!(wrap("三次握手第一次", 10.0, 40.0), ["三次握手", "第一次"]);
        assert_eq!(wrap("", 10.0, 40.0), Vec::<String>::new());
    }
}
