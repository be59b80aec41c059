//! The fingerprint function's behaviour: what must and must not split an issue.

use super::*;

fn fp(ty: &str, msg: &str, st: &str) -> String {
    fingerprint(&GroupingInput {
        project: "p",
        service: "s",
        exception_type: ty,
        message: msg,
        stack: Stack::Text(st),
        client_fingerprint: None,
        config: None,
    })
    .fingerprint
}

#[test]
fn python_line_numbers_and_paths_do_not_split() {
    let a = "Traceback (most recent call last):\n  File \"/srv/app/releases/1/cms/views.py\", line 10, in get\n    x()\n  File \"/srv/app/releases/1/cms/models.py\", line 20, in slug\nAttributeError: 'NoneType' object has no attribute 'slug'";
    let b = a
        .replace("releases/1", "releases/2")
        .replace("line 20", "line 27");
    assert_eq!(fp("AttributeError", "m", a), fp("AttributeError", "m", &b));
    let c = a.replace("models.py", "forms.py");
    assert_ne!(fp("AttributeError", "m", a), fp("AttributeError", "m", &c));
}

#[test]
fn no_stack_falls_back_to_masked_message() {
    assert_eq!(
        fp("E", "user 1 not found", ""),
        fp("E", "user 22 not found", "")
    );
    assert_ne!(
        fp("E", "user 1 not found", ""),
        fp("E", "team 1 not found", "")
    );
    assert_ne!(
        fp("E", "user 1 not found", ""),
        fp("F", "user 1 not found", "")
    );
}

#[test]
fn rules_and_in_app_overrides() {
    let st = "Error: x\n    at handler (/app/src/api.js:1:1)\n    at call (/app/node_modules/lib/index.js:1:1)";
    let input = |config| GroupingInput {
        project: "p",
        service: "api",
        exception_type: "TimeoutError",
        message: "upstream took 5s",
        stack: Stack::Text(st),
        client_fingerprint: None,
        config,
    };
    let plain = fingerprint(&input(None)).fingerprint;
    let cfg = GroupingConfig {
        rules: vec![FingerprintRule {
            exception_type: Some("Timeout*".into()),
            service: Some("api".into()),
            fingerprint: "timeouts-{{ default }}".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    assert_eq!(
        fingerprint(&input(Some(&cfg))).fingerprint,
        format!("timeouts-{plain}")
    );
    let other = GroupingConfig {
        rules: vec![FingerprintRule {
            function: Some("handler".into()),
            fingerprint: "all-handler-errors".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    assert_eq!(
        fingerprint(&input(Some(&other))).fingerprint,
        "all-handler-errors"
    );
    let no_match = GroupingConfig {
        rules: vec![FingerprintRule {
            service: Some("worker".into()),
            fingerprint: "x".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    assert_eq!(fingerprint(&input(Some(&no_match))).fingerprint, plain);
    // Marking the library in-app changes which frames group (and the culprit stays the app's).
    let vendor_in_app = GroupingConfig {
        in_app_include: vec!["index".into()],
        ..Default::default()
    };
    assert_ne!(fingerprint(&input(Some(&vendor_in_app))).fingerprint, plain);
    let app_excluded = GroupingConfig {
        in_app_exclude: vec!["api".into()],
        ..Default::default()
    };
    assert_ne!(fingerprint(&input(Some(&app_excluded))).fingerprint, plain);
    assert!(
        GroupingConfig {
            rules: vec![FingerprintRule {
                fingerprint: "x".into(),
                ..Default::default()
            }],
            ..Default::default()
        }
        .validate()
        .is_err()
    );
    // A client fingerprint still wins over rules.
    let g = fingerprint(&GroupingInput {
        client_fingerprint: Some("mine"),
        ..input(Some(&cfg))
    });
    assert_eq!(g.fingerprint, "mine");
}

#[test]
fn client_fingerprint_wins() {
    let g = fingerprint(&GroupingInput {
        client_fingerprint: Some("abc123"),
        ..Default::default()
    });
    assert_eq!(
        (g.fingerprint.as_str(), g.version),
        ("abc123", CLIENT_GROUPING_VERSION)
    );
}

#[test]
fn recursion_depth_does_not_split() {
    let f = |n: usize| {
        let mut s = String::from("Error: deep\n");
        for _ in 0..n {
            s.push_str("    at walk (/app/tree.js:3:10)\n");
        }
        s.push_str("    at main (/app/main.js:1:1)\n");
        s
    };
    assert_eq!(fp("Error", "deep", &f(3)), fp("Error", "deep", &f(9)));
}

// The hand-written line parsers against the regexes they replace, on lines built from the
// pieces those formats are made of (and arbitrary noise in between).
mod agree_with_regex {
    use super::super::php::php_frame;
    use super::super::ruby::ruby_line;
    use super::super::text::group;
    use proptest::prelude::*;
    use regex::Regex;

    fn pick(options: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
        proptest::sample::select(options)
    }

    /// Ruby backtrace lines, well-formed or broken in one of the places that matter.
    fn ruby_line_text() -> impl Strategy<Value = String> {
        (
            pick(&["", "  ", "\t", " \u{a0}"]),
            pick(&["", "from ", "from  ", "from:"]),
            pick(&[
                "app/models/user.rb",
                "/gems/x-1.0/lib/y.rb",
                ":bad",
                " x",
                "a:b",
                "<internal:kernel>",
                "é.rb",
            ]),
            pick(&["12", "", "x", "3"]),
            pick(&[":in ", ":in", ": in "]),
            pick(&["`", "'", "\""]),
            pick(&[
                "save",
                "block (2 levels) in call",
                "",
                "a'b",
                "Foo#bar",
                "a`b",
            ]),
            pick(&["'", ""]),
            pick(&[
                "",
                ": boom (RuntimeError)",
                ": boom (Err::Type) ",
                ": x (a b)",
                ": no parens",
                " (X)",
                ": (())",
                ": ()",
                ": x (é)",
            ]),
        )
            .prop_map(|(a, b, c, d, e, f, g, h, i)| [a, b, c, ":", d, e, f, g, h, i].concat())
    }

    /// PHP `getTraceAsString()` lines, well-formed or broken in one of the places that matter.
    fn php_line_text() -> impl Strategy<Value = String> {
        (
            pick(&["#0", "#12", "#", "0"]),
            pick(&[" ", "  ", ""]),
            pick(&[
                "/var/www/src/a.php",
                "a(b).php",
                "",
                "x(1)",
                "[internal function]",
                "é",
            ]),
            pick(&["(12)", "()", "(a)", "(3"]),
            pick(&[": ", ")", ":", ": : "]),
            pick(&[
                "App\\C->run()",
                "f",
                "",
                "g(1, 'x')",
                "h(",
                "(x)",
                "é(x)",
                "a(b)(c)",
            ]),
        )
            .prop_map(|(a, b, c, d, e, f)| [a, b, c, d, e, f].concat())
    }

    fn line() -> impl Strategy<Value = String> {
        let noise = proptest::collection::vec(
            prop_oneof![
                pick(&[
                    "#",
                    "from ",
                    ":in ",
                    "(12): ",
                    "[internal function]: ",
                    "'",
                    "`",
                    ": ",
                    "(E)",
                    " "
                ])
                .prop_map(str::to_string),
                "[0-9]{1,3}",
                "[a-z/._:()#' ]{1,6}",
                "[\\PC]{1,2}",
            ],
            0..10,
        )
        .prop_map(|v| v.concat());
        prop_oneof![
            ruby_line_text(),
            php_line_text(),
            "#[0-9] \\[internal function\\]: [a-z()]{0,6}",
            noise
        ]
    }

    proptest! {
        #[test]
        fn ruby(l in line()) {
            let re = Regex::new(r"^\s*(from )?([^\s:][^:]*):\d+:in [`']([^']+)'(: .*\(([\w:]+)\)\s*$)?")
                .expect("regex");
            let want = re.captures(&l).map(|c| {
                (c.get(1).is_some(), group(&c, 2), group(&c, 3), c.get(5).map(|m| m.as_str()))
            });
            prop_assert_eq!(ruby_line(&l), want);
        }

        #[test]
        fn php(l in line()) {
            let main = Regex::new(r"^#\d+ (.+?)\(\d+\): (.+?)(\(.*\))?$").expect("regex");
            let internal = Regex::new(r"^#\d+ \[internal function\]: (.+?)(\(.*\))?$").expect("regex");
            let want = match main.captures(&l) {
                Some(c) => Some((group(&c, 1), group(&c, 2))),
                None => internal.captures(&l).map(|c| ("", group(&c, 1))),
            };
            prop_assert_eq!(php_frame(&l), want);
        }
    }
}

/// The same bug as frames sent as data (Sentry's shape: calling order, outermost first) and as
/// the text its runtime prints groups into one issue, culprit included.
#[test]
fn structured_frames_group_like_their_text() {
    let f = |module: &'static str, function: &'static str, file: &'static str| SourceFrame {
        module: Some(module),
        function: Some(function),
        file: Some(file),
        in_app: None,
    };
    let cases: Vec<(&str, Platform, &str, Vec<SourceFrame<'static>>)> = vec![
        (
            "KeyError",
            Platform::Python,
            "Traceback (most recent call last):\n  File \"/srv/app/blog/views.py\", line 3, in post\n    x()\n  File \"/usr/lib/python3.11/site-packages/django/x.py\", line 9, in get\n    y()\n  File \"/srv/app/blog/models.py\", line 7, in slug\n    return d['slug']\nKeyError: 'slug'",
            vec![
                f("blog.views", "post", "/srv/app/blog/views.py"),
                f(
                    "django.x",
                    "get",
                    "/usr/lib/python3.11/site-packages/django/x.py",
                ),
                f("blog.models", "slug", "/srv/app/blog/models.py"),
            ],
        ),
        (
            "java.lang.IllegalStateException",
            Platform::Jvm,
            "java.lang.IllegalStateException: boom\n\tat com.shop.Cart.total(Cart.java:12)\n\tat com.shop.Cart$$EnhancerBySpringCGLIB$$1a2b3c.checkout(<generated>)\n\tat org.springframework.web.X.handle(X.java:1)",
            vec![
                f("org.springframework.web.X", "handle", "X.java"),
                f(
                    "com.shop.Cart$$EnhancerBySpringCGLIB$$9f8e7d",
                    "checkout",
                    "<generated>",
                ),
                f("com.shop.Cart", "total", "Cart.java"),
            ],
        ),
        (
            "TypeError",
            Platform::JavaScript,
            "TypeError: x\n    at total (/srv/shop/cart.js:10:5)\n    at checkout (/srv/shop/routes.js:20:3)\n    at next (/srv/shop/node_modules/express/lib/router.js:1:1)",
            vec![
                f("", "next", "/srv/shop/node_modules/express/lib/router.js"),
                f("", "checkout", "/srv/shop/routes.js"),
                f("", "total", "/srv/shop/cart.js"),
            ],
        ),
        (
            "*errors.errorString",
            Platform::Go,
            "goroutine 1 [running]:\nmain.handler.func1(0x1)\n\t/build/app/main.go:12 +0x1d\nnet/http.HandlerFunc.ServeHTTP(0x2)\n\t/usr/local/go/src/net/http/server.go:2109 +0x2f",
            vec![
                f(
                    "net/http",
                    "HandlerFunc.ServeHTTP",
                    "/usr/local/go/src/net/http/server.go",
                ),
                f("main", "handler.func1", "/build/app/main.go"),
            ],
        ),
    ];
    for (ty, platform, text, frames) in cases {
        // The type the text prints on its exception line (Go's panics print none).
        let printed = (platform != Platform::Go).then_some(ty);
        let segments = [structured::segment(platform, printed, &frames)];
        let input = |stack| GroupingInput {
            project: "p",
            service: "s",
            exception_type: ty,
            message: "m",
            stack,
            client_fingerprint: None,
            config: None,
        };
        let from_text = fingerprint(&input(Stack::Text(text)));
        let from_frames = fingerprint(&input(Stack::Frames(&segments)));
        assert_eq!(from_text, from_frames, "{platform:?}");
        // The client's own in-app flag wins over the runtime's rule.
        let flagged: Vec<SourceFrame<'_>> = frames
            .iter()
            .map(|f| SourceFrame {
                in_app: Some(true),
                ..*f
            })
            .collect();
        let all_app = [structured::segment(platform, printed, &flagged)];
        assert_ne!(
            fingerprint(&input(Stack::Frames(&all_app))).fingerprint,
            from_text.fingerprint,
            "{platform:?}: marking library frames in-app changes the group"
        );
    }
}
