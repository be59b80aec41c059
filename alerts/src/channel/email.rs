//! E-mail over SMTP (lettre): STARTTLS when the server offers it (`smtp://`), TLS from the start
//! (`smtps://`), AUTH when the URL carries a user. A text body with the alert's facts and the
//! link; `Message-ID` from the alert id (a retry is the same message), `Auto-Submitted:
//! auto-generated` so auto-responders stay quiet.

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{EmailChannel, Outcome, SmtpSecurity};
use crate::alert::{Alert, headline, rfc3339};

/// The subject: `[Faultline] shop: ZeroDivisionError (new issue)`.
pub fn subject(alert: &Alert) -> String {
    let what = match (&alert.issue, &alert.service) {
        (_, Some(service)) => format!("error rate of {service}"),
        (Some(i), None) if !i.exception_type.is_empty() => i.exception_type.clone(),
        (Some(i), None) => headline(i),
        (None, None) => "test alert".into(),
    };
    // Error texts are the client's: no line breaks or other controls into a header.
    let what: String = what.chars().filter(|c| !c.is_control()).take(150).collect();
    format!(
        "[Faultline] {}: {what} ({})",
        alert.project,
        alert.event.title().to_lowercase()
    )
}

/// The text body.
pub fn text(alert: &Alert) -> String {
    let mut out = format!("{}\n\n", alert.summary());
    out.push_str(&format!("Project:   {}\n", alert.project));
    if !alert.rule.is_empty() {
        out.push_str(&format!("Rule:      {}\n", alert.rule));
    }
    if let Some(s) = &alert.service {
        out.push_str(&format!("Service:   {s}\n"));
    }
    if let (Some(v), Some(t)) = (alert.value, alert.threshold) {
        out.push_str(&format!(
            "In {}:    {v} (threshold {t})\n",
            alert.window_text()
        ));
    }
    if let Some(i) = &alert.issue {
        out.push_str(&format!("Issue:     {}\n", headline(i)));
        if !i.culprit.is_empty() {
            out.push_str(&format!("Culprit:   {}\n", i.culprit));
        }
        out.push_str(&format!(
            "Count:     {} (first seen {}, last seen {})\nStatus:    {}\n",
            i.count, i.first_seen, i.last_seen, i.status
        ));
        if !i.url.is_empty() {
            out.push_str(&format!("\n{}\n", i.url));
        }
    }
    out.push_str(&format!(
        "\nAlert {} at {}.\n",
        alert.id,
        rfc3339(alert.fired_at)
    ));
    out
}

fn message(e: &EmailChannel, alert: &Alert) -> Result<Message, String> {
    let mut b = Message::builder()
        .from(e.from.clone())
        .subject(subject(alert))
        .message_id(Some(format!("<{}@faultline>", alert.id)))
        .header(ContentType::TEXT_PLAIN);
    for to in &e.to {
        b = b.to(to.clone());
    }
    let mut m = b
        .body(text(alert))
        .map_err(|err| format!("cannot build the message: {err}"))?;
    m.headers_mut().insert_raw(HeaderValue::new(
        HeaderName::new_from_ascii_str("Auto-Submitted"),
        "auto-generated".into(),
    ));
    Ok(m)
}

fn transport(e: &EmailChannel) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let tls = |host: &str| {
        TlsParameters::new(host.to_string()).map_err(|err| format!("TLS set-up failed: {err}"))
    };
    let (port, tls) = match e.security {
        SmtpSecurity::StartTlsWhenOffered => (
            e.port
                .unwrap_or(if e.credentials.is_some() { 587 } else { 25 }),
            Tls::Opportunistic(tls(&e.host)?),
        ),
        SmtpSecurity::Tls => (e.port.unwrap_or(465), Tls::Wrapper(tls(&e.host)?)),
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&e.host)
        .port(port)
        .tls(tls)
        .timeout(Some(super::REQUEST_TIMEOUT));
    if let Some((user, password)) = &e.credentials {
        b = b.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(b.build())
}

/// One attempt: SMTP 4xx and connection errors are retried, 5xx are not.
pub async fn send(e: &EmailChannel, alert: &Alert) -> Outcome {
    let sent = async {
        let m = message(e, alert).map_err(|err| (false, err))?;
        let t = transport(e).map_err(|err| (false, err))?;
        t.send(m).await.map_err(|err| {
            let permanent = err.is_permanent();
            (!permanent, format!("SMTP: {err}"))
        })
    };
    match sent.await {
        Ok(_) => Outcome::Delivered,
        Err((true, error)) => Outcome::Retry { error, after: None },
        Err((false, error)) => Outcome::Failed { error },
    }
}
