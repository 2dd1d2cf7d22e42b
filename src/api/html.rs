//! Minimal server-rendered HTML for the OGC API's `f=html` (Vietnamese), without a template engine:
//! a handful of pages, every value escaped.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
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

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{t} — Vigil</title><style>body{{font-family:system-ui,sans-serif;max-width:70rem;margin:1rem auto;padding:0 1rem;color:#222}}\
         a{{color:#0b5394}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}}\
         code,pre{{background:#f4f4f4}}pre{{padding:.5rem;overflow:auto}}nav a{{margin-right:1rem}}</style></head><body>\
         <nav><a href=\"/?f=html\">Trang chủ</a><a href=\"/collections?f=html\">Lớp dữ liệu</a><a href=\"/map/\">Bản đồ</a><a href=\"/api\">API</a></nav>\
         <h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    );
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        html,
    )
        .into_response()
}

fn links(v: &Value) -> String {
    let mut s = String::from("<ul>");
    for l in v["links"].as_array().into_iter().flatten() {
        let href = l["href"].as_str().unwrap_or("");
        let title = l["title"].as_str().unwrap_or(href);
        s.push_str(&format!(
            "<li><a href=\"{}\">{}</a> <small>({})</small></li>",
            escape(href),
            escape(title),
            escape(l["rel"].as_str().unwrap_or(""))
        ));
    }
    s.push_str("</ul>");
    s
}

pub fn landing(v: &Value) -> Response {
    page(
        v["title"].as_str().unwrap_or("Vigil"),
        &format!(
            "<p>{}</p>{}",
            escape(v["description"].as_str().unwrap_or("")),
            links(v)
        ),
    )
}

pub fn list_page(title: &str, items: &[&str]) -> Response {
    let lis: String = items
        .iter()
        .map(|i| format!("<li><code>{}</code></li>", escape(i)))
        .collect();
    page(title, &format!("<ul>{lis}</ul>"))
}

pub fn collections(v: &Value) -> Response {
    let mut rows = String::from("<table><tr><th>Mã</th><th>Tên</th><th>Mô tả</th></tr>");
    for c in v["collections"].as_array().into_iter().flatten() {
        let id = c["id"].as_str().unwrap_or("");
        rows.push_str(&format!(
            "<tr><td><a href=\"/collections/{0}?f=html\">{0}</a></td><td>{1}</td><td>{2}</td></tr>",
            escape(id),
            escape(c["title"].as_str().unwrap_or("")),
            escape(c["description"].as_str().unwrap_or(""))
        ));
    }
    rows.push_str("</table>");
    page("Các lớp dữ liệu", &rows)
}

pub fn collection(v: &Value) -> Response {
    page(
        v["title"].as_str().unwrap_or(""),
        &format!(
            "<p>{}</p><p>Phạm vi: <code>{}</code></p>{}",
            escape(v["description"].as_str().unwrap_or("")),
            escape(&v["extent"]["spatial"]["bbox"].to_string()),
            links(v)
        ),
    )
}

pub fn items(id: &str, title: &str, geojson: &str) -> Response {
    let v: Value = serde_json::from_str(geojson).unwrap_or(Value::Null);
    let mut s = format!(
        "<p>{} / {} đối tượng.</p><table><tr><th>id</th><th>Thuộc tính</th></tr>",
        v["numberReturned"].as_u64().unwrap_or(0),
        v["numberMatched"].as_u64().unwrap_or(0)
    );
    for f in v["features"].as_array().into_iter().flatten() {
        let fid = f["id"].to_string().trim_matches('"').to_string();
        let props: String = f["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, val)| !val.is_null())
            .map(|(k, val)| {
                format!(
                    "<b>{}</b>: {}<br>",
                    escape(k),
                    escape(
                        val.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| val.to_string())
                            .as_str()
                    )
                )
            })
            .collect();
        s.push_str(&format!("<tr><td><a href=\"/collections/{id}/items/{0}?f=html\">{0}</a></td><td>{props}</td></tr>", escape(&fid)));
    }
    s.push_str("</table>");
    s.push_str(&links(&v));
    page(title, &s)
}

pub fn feature(collection: &str, geojson: &str) -> Response {
    let v: Value = serde_json::from_str(geojson).unwrap_or(Value::Null);
    let pretty = serde_json::to_string_pretty(&v).unwrap_or_default();
    page(
        &format!("{collection} / {}", v["id"].to_string().trim_matches('"')),
        &format!("<pre>{}</pre>", escape(&pretty)),
    )
}

pub fn swagger_like(doc: &Value) -> Response {
    let mut s = String::from(
        "<p>OpenAPI 3.0: <a href=\"/api?f=json\">/api?f=json</a></p><table><tr><th>Đường dẫn</th><th>Phương thức</th><th>Mô tả</th></tr>",
    );
    for (path, ops) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in ops.as_object().into_iter().flatten() {
            s.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                escape(path),
                escape(&method.to_uppercase()),
                escape(op["summary"].as_str().unwrap_or(""))
            ));
        }
    }
    s.push_str("</table>");
    page("Tài liệu API Vigil", &s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }
}
