//! The lab page.

use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;

/// Language of the page's labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Major / Student ID / Name.
    #[default]
    En,
    /// 专业 / 学号 / 姓名, as in the lab.
    Zh,
}

/// What the page shows. Neutral defaults; set by flags or a TOML file:
///
/// ```toml
/// major = "Computer Science and Technology"
/// student_id = "0000000"
/// name = "Student"
/// lang = "zh"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PageInfo {
    /// The student's major.
    pub major: String,
    /// The student ID.
    pub student_id: String,
    /// The student's name.
    pub name: String,
    /// Label language.
    pub lang: Lang,
}

impl Default for PageInfo {
    fn default() -> Self {
        PageInfo {
            major: "Computer Science and Technology".into(),
            student_id: "0000000".into(),
            name: "Student".into(),
            lang: Lang::En,
        }
    }
}

impl PageInfo {
    /// Reads a TOML file of the form shown above (missing keys keep their defaults).
    pub fn from_toml(text: &str) -> Result<PageInfo, toml::de::Error> {
        toml::from_str(text)
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The HTML of the page.
pub fn html(page: &PageInfo) -> String {
    let (title, major, id, name, logo_alt, html_lang) = match page.lang {
        Lang::En => ("Lab page", "Major", "Student ID", "Name", "Logo", "en"),
        Lang::Zh => ("实验页面", "专业", "学号", "姓名", "标志", "zh-CN"),
    };
    format!(
        r#"<!doctype html>
<html lang="{html_lang}">
<head>
<meta charset="utf-8">
<title>{title}</title>
</head>
<body>
<p id="major">{major}: {}</p>
<p id="student-id">{id}: {}</p>
<p id="name">{name}: {}</p>
<img id="logo" src="/static/img/logo.jpg" alt="{logo_alt}">
</body>
</html>
"#,
        escape(&page.major),
        escape(&page.student_id),
        escape(&page.name),
    )
}

/// `GET /`.
pub async fn render(page: PageInfo) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html(&page),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_labels_translated() {
        let page = PageInfo {
            name: "<b>x</b>".into(),
            lang: Lang::Zh,
            ..PageInfo::default()
        };
        let text = html(&page);
        assert!(text.contains("<p id=\"name\">姓名: &lt;b&gt;x&lt;/b&gt;</p>"));
        assert!(text.contains("专业: Computer Science and Technology"));
    }

    #[test]
    fn toml_config() {
        let page = PageInfo::from_toml("name = \"张三\"\nlang = \"zh\"\n").unwrap();
        assert_eq!(
            (page.name.as_str(), page.lang, page.student_id.as_str()),
            ("张三", Lang::Zh, "0000000")
        );
        assert!(PageInfo::from_toml("nmae = \"typo\"").is_err());
    }
}
