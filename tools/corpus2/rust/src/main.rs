//! search-api: runs one bug per argument on a named worker thread and prints each panic the way
//! the corpus's Rust services record it (a panic hook: `thread '<name>' panicked at
//! file:line:col:`, the message, `Backtrace::force_capture()`), one JSON line each.

mod index;
mod query;

use std::backtrace::Backtrace;
use std::sync::Mutex;

static BUG: Mutex<String> = Mutex::new(String::new());

fn json(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        let thread = std::thread::current();
        let loc = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())).unwrap_or_default();
        let trace = format!(
            "thread '{}' panicked at {loc}:\n{msg}\n{}",
            thread.name().unwrap_or("<unnamed>"),
            Backtrace::force_capture()
        );
        let bug = BUG.lock().map(|b| b.clone()).unwrap_or_default();
        println!(
            "{{\"bug\": {}, \"exception_type\": \"panic\", \"message\": {}, \"stacktrace\": {}}}",
            json(&bug),
            json(&msg),
            json(&trace)
        );
    }));
}

fn handle(bug: &str, arg: &str) {
    match bug {
        "rs-snippet" => {
            query::snippet(arg, 40);
        }
        "rs-page" => {
            query::page_param(arg);
        }
        "rs-shards" => {
            index::per_shard(100, arg.parse().unwrap_or(0));
        }
        "rs-tree" => {
            index::depth_of(&index::nested(arg.parse().unwrap_or(1)), 0);
        }
        _ => {}
    }
}

fn main() {
    install_panic_hook();
    let worker = std::env::var("WORKER").unwrap_or_else(|_| "worker".into());
    for (i, a) in std::env::args().skip(1).enumerate() {
        let (bug, arg) = a.split_once('=').unwrap_or((a.as_str(), ""));
        if let Ok(mut b) = BUG.lock() {
            *b = bug.to_string();
        }
        let (bug, arg) = (bug.to_string(), arg.to_string());
        let t = std::thread::Builder::new()
            .name(format!("{worker}-{i}"))
            .spawn(move || handle(&bug, &arg))
            .expect("spawn");
        let _ = t.join();
    }
}
