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

/// What the page shows. Set by flags or a TOML file:
///
/// ```toml
/// major = "Computer Science and Technology"
/// student_id = "0000000"
/// name = "Student"
/// lang = "zh"
/// ```
///
/// A major or name left unset shows the chosen language's default, so that `--lang zh`
/// alone gives a page that is Chinese throughout (a default kept in English was a bug).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PageInfo {
    /// The student's major (`None`: the language's default).
    pub major: Option<String>,
    /// The student ID.
    pub student_id: String,
    /// The student's name (`None`: the language's default).
    pub name: Option<String>,
    /// Label language.
    pub lang: Lang,
}

impl Default for PageInfo {
    fn default() -> Self {
        PageInfo {
            major: None,
            student_id: "0000000".into(),
            name: None,
            lang: Lang::En,
        }
    }
}

impl PageInfo {
    /// Reads a TOML file of the form shown above (missing keys keep their defaults).
    pub fn from_toml(text: &str) -> Result<PageInfo, toml::de::Error> {
        toml::from_str(text)
    }

    /// The major shown: the one given, or the language's default.
    pub fn major(&self) -> &str {
        self.major
            .as_deref()
            .unwrap_or(Labels::of(self.lang).default_major)
    }

    /// The name shown: the one given, or the language's default.
    pub fn name(&self) -> &str {
        self.name
            .as_deref()
            .unwrap_or(Labels::of(self.lang).default_name)
    }
}

/// Every word the page shows that the user did not type, in one language: the one place
/// a language's texts are defined.
struct Labels {
    html_lang: &'static str,
    title: &'static str,
    major: &'static str,
    student_id: &'static str,
    name: &'static str,
    logo_alt: &'static str,
    default_major: &'static str,
    default_name: &'static str,
}

impl Labels {
    fn of(lang: Lang) -> &'static Labels {
        const EN: Labels = Labels {
            html_lang: "en",
            title: "Lab page",
            major: "Major",
            student_id: "Student ID",
            name: "Name",
            logo_alt: "Logo",
            default_major: "Computer Science and Technology",
            default_name: "Student",
        };
        const ZH: Labels = Labels {
            html_lang: "zh-CN",
            title: "实验页面",
            major: "专业",
            student_id: "学号",
            name: "姓名",
            logo_alt: "标志",
            default_major: "计算机科学与技术",
            default_name: "学生",
        };
        match lang {
            Lang::En => &EN,
            Lang::Zh => &ZH,
        }
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
    let Labels {
        html_lang,
        title,
        major,
        student_id: id,
        name,
        logo_alt,
        ..
    } = Labels::of(page.lang);
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
        escape(page.major()),
        escape(&page.student_id),
        escape(page.name()),
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
            name: Some("<b>x</b>".into()),
            lang: Lang::Zh,
            ..PageInfo::default()
        };
        let text = html(&page);
        assert!(text.contains("<p id=\"name\">姓名: &lt;b&gt;x&lt;/b&gt;</p>"));
        assert!(text.contains("专业: 计算机科学与技术"));
    }

    /// The text a reader sees: everything outside tags, and the image's `alt`.
    fn visible_text(html: &str) -> String {
        let mut out = String::new();
        let mut rest = html;
        while let Some(open) = rest.find('<') {
            out.push_str(&rest[..open]);
            let close = rest[open..].find('>').map_or(rest.len(), |i| open + i + 1);
            let tag = &rest[open..close];
            if let Some(alt) = tag.split("alt=\"").nth(1) {
                out.push_str(alt.split('"').next().unwrap_or(""));
            }
            rest = &rest[close..];
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn every_label_and_default_in_the_chosen_language() {
        let en = visible_text(&html(&PageInfo::default()));
        assert!(en.is_ascii(), "{en}");
        for word in [
            "Lab page",
            "Major: Computer Science and Technology",
            "Student ID: 0000000",
            "Name: Student",
            "Logo",
        ] {
            assert!(en.contains(word), "{word} in {en}");
        }
        let zh = visible_text(&html(&PageInfo {
            lang: Lang::Zh,
            ..PageInfo::default()
        }));
        assert!(
            !zh.chars().any(|c| c.is_ascii_alphabetic()),
            "no English left: {zh}"
        );
        for word in [
            "实验页面",
            "专业: 计算机科学与技术",
            "学号: 0000000",
            "姓名: 学生",
            "标志",
        ] {
            assert!(zh.contains(word), "{word} in {zh}");
        }
    }

    #[test]
    fn toml_config() {
        let page = PageInfo::from_toml("name = \"张三\"\nlang = \"zh\"\n").unwrap();
        assert_eq!(
            (
                page.name(),
                page.lang,
                page.student_id.as_str(),
                page.major()
            ),
            ("张三", Lang::Zh, "0000000", "计算机科学与技术")
        );
        assert!(PageInfo::from_toml("nmae = \"typo\"").is_err());
    }
}
