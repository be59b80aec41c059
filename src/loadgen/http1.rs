//! The HTTP senders' client: one HTTP/1.1 keep-alive connection per sender, each request the
//! same head (path, host, headers) and a body from the pool of ready bodies, written in one go.
//!
//! A general client costs CPU per request that, on a 2-core machine, is taken from the server it
//! measures: reqwest (a connection pool, URL parsing and header maps per request) about 22 µs per
//! one-event request here, a hyper connection per sender (a task and a channel per connection,
//! header maps) 15–17 µs. This one writes the ready bytes and reads the answer with `httparse`
//! (`bench/RESULTS.md`). It understands what an HTTP/1.1 server may answer: `content-length`,
//! chunked bodies, `connection: close`, and a body ended by the server closing.

use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where and how every request of a run is sent.
#[derive(Clone)]
pub(super) struct Target {
    /// `host:port`.
    addr: String,
    /// The request line and the headers of every request, up to (not including) the
    /// `content-length` line.
    head: Vec<u8>,
}

impl Target {
    /// A target from a base URL (`http://host:port`, no TLS), a path and the request headers.
    pub(super) fn new(
        endpoint: &str,
        path: &str,
        headers: &[(&'static str, String)],
    ) -> anyhow::Result<Target> {
        let Some(rest) = endpoint.strip_prefix("http://") else {
            bail!("{endpoint}: the load generator speaks plain http:// only");
        };
        let addr = rest.trim_end_matches('/').to_string();
        if addr.is_empty() || addr.contains('/') {
            bail!("{endpoint}: give the base URL only (http://host:port)");
        }
        let printable = |s: &str| s.bytes().all(|b| b == b'\t' || (b' '..0x7f).contains(&b));
        if !path.starts_with('/') || !printable(path) || path.contains(' ') {
            bail!("{path:?}: not a request path");
        }
        let mut head = format!("POST {path} HTTP/1.1\r\nhost: {addr}\r\n");
        for (name, value) in headers {
            if !printable(value) {
                bail!("request header {name}: not a printable value");
            }
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        Ok(Target {
            addr,
            head: head.into_bytes(),
        })
    }
}

/// One sender's connection, opened on first use and again after an error or a `close`.
pub(super) struct Connection {
    target: Target,
    stream: Option<TcpStream>,
    /// The request being written.
    out: Vec<u8>,
    /// What was read of the answer.
    read: Vec<u8>,
}

impl Connection {
    pub(super) fn new(target: Target) -> Self {
        Connection {
            target,
            stream: None,
            out: Vec::new(),
            read: Vec::with_capacity(4096),
        }
    }

    /// Posts `body`; whether the answer was a 2xx (its body read whole, as a client would).
    pub(super) async fn post(&mut self, body: Bytes) -> bool {
        match tokio::time::timeout(Duration::from_secs(60), self.try_post(&body)).await {
            Ok(Ok(head)) => {
                if !head.keep_alive {
                    self.stream = None;
                }
                head.ok
            }
            _ => {
                // A failed or timed-out exchange leaves the connection in an unknown state.
                self.stream = None;
                false
            }
        }
    }

    /// The head of the answer, once the answer was read whole.
    async fn try_post(&mut self, body: &[u8]) -> anyhow::Result<Head> {
        use std::io::Write;
        self.out.clear();
        self.out.extend_from_slice(&self.target.head);
        write!(self.out, "content-length: {}\r\n\r\n", body.len())?;
        self.out.extend_from_slice(body);
        let stream = match &mut self.stream {
            Some(s) => s,
            None => {
                let tcp = TcpStream::connect(&self.target.addr)
                    .await
                    .with_context(|| format!("cannot connect to {}", self.target.addr))?;
                let _ = tcp.set_nodelay(true);
                self.stream.insert(tcp)
            }
        };
        stream.write_all(&self.out).await?;
        self.read.clear();
        loop {
            if let Some(head) = complete(&self.read)? {
                return Ok(head);
            }
            if self.read.capacity() - self.read.len() < 1024 {
                self.read.reserve(self.read.capacity().max(4096));
            }
            if stream.read_buf(&mut self.read).await? == 0 {
                // Closed by the server: the answer is whole only if its body runs to the end.
                return match parse_head(&self.read)? {
                    Some(h) if h.framing == Framing::ToClose => Ok(h),
                    _ => bail!("connection closed before the answer was whole"),
                };
            }
        }
    }
}

/// How an answer's body ends.
#[derive(Debug, PartialEq, Eq)]
enum Framing {
    Length(usize),
    Chunked,
    ToClose,
}

/// An answer's status line and headers, as far as a sender needs them.
struct Head {
    /// A 2xx.
    ok: bool,
    /// The connection can carry the next request (never with a body that runs to the close).
    keep_alive: bool,
    /// Bytes of the status line and headers.
    len: usize,
    framing: Framing,
}

/// The answer's head, once all of it was read.
fn parse_head(buf: &[u8]) -> anyhow::Result<Option<Head>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf).context("answer is not HTTP/1.1")? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Ok(None),
    };
    let code = resp.code.unwrap_or(0);
    let mut keep_alive = resp.version == Some(1);
    let mut framing = Framing::ToClose;
    for h in resp.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("content-length") && framing != Framing::Chunked {
            framing = Framing::Length(value.parse().context("content-length")?);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding")
            && value.to_ascii_lowercase().ends_with("chunked")
        {
            framing = Framing::Chunked;
        } else if h.name.eq_ignore_ascii_case("connection") {
            keep_alive = !value.eq_ignore_ascii_case("close");
        }
    }
    if code == 204 || code == 304 {
        framing = Framing::Length(0);
    }
    Ok(Some(Head {
        ok: (200..300).contains(&code),
        keep_alive: keep_alive && framing != Framing::ToClose,
        len,
        framing,
    }))
}

/// The answer's head, once the answer was read whole (head and body).
fn complete(buf: &[u8]) -> anyhow::Result<Option<Head>> {
    let Some(head) = parse_head(buf)? else {
        return Ok(None);
    };
    let body = &buf[head.len..];
    let whole = match head.framing {
        Framing::Length(n) => body.len() >= n,
        Framing::Chunked => chunked_end(body)?.is_some(),
        Framing::ToClose => false,
    };
    Ok(whole.then_some(head))
}

/// Where a chunked body ends (after its last chunk and trailers), once it was read whole.
fn chunked_end(body: &[u8]) -> anyhow::Result<Option<usize>> {
    let mut at = 0;
    loop {
        let Some(eol) = memchr::memmem::find(&body[at..], b"\r\n") else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&body[at..at + eol]).context("chunk size")?;
        let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
            .context("chunk size")?;
        at += eol + 2;
        if size == 0 {
            // Trailers, if any, end with an empty line.
            return Ok(match memchr::memmem::find(&body[at..], b"\r\n") {
                Some(0) => Some(at + 2),
                Some(_) => memchr::memmem::find(&body[at..], b"\r\n\r\n").map(|i| at + i + 4),
                None => None,
            });
        }
        if body.len() < at + size + 2 {
            return Ok(None);
        }
        at += size + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The head of `answer`, which reads as whole only once all of it was read.
    fn whole_only_at_the_end(answer: &[u8]) -> Head {
        for cut in 0..answer.len() {
            let early = complete(&answer[..cut]).expect("answer");
            assert!(early.is_none(), "whole at {cut}");
        }
        complete(answer).expect("answer").expect("whole")
    }

    #[test]
    fn answers_are_whole_only_once_their_body_was_read() {
        let a = whole_only_at_the_end(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 7\r\n\r\n{\"a\":1}",
        );
        assert!(a.ok && a.keep_alive);
        let a = whole_only_at_the_end(
            b"HTTP/1.1 429 Too Many Requests\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        );
        assert!(!a.ok && a.keep_alive);

        let close =
            b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        let a = complete(close).expect("answer").expect("answer");
        assert!(!a.ok && !a.keep_alive);

        let to_close = b"HTTP/1.0 200 OK\r\n\r\nbody";
        assert!(complete(to_close).expect("answer").is_none());
        let h = parse_head(to_close).expect("answer").expect("answer");
        assert_eq!(h.framing, Framing::ToClose);

        assert!(complete(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(complete(b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n").is_err());
    }

    #[test]
    fn chunked_bodies_end_after_the_last_chunk_and_trailers() {
        assert_eq!(chunked_end(b"0\r\n\r\n").expect("answer"), Some(5));
        assert_eq!(
            chunked_end(b"2;x=y\r\nab\r\n0\r\n\r\n").expect("answer"),
            Some(16)
        );
        assert_eq!(
            chunked_end(b"0\r\nx-t: 1\r\n\r\n").expect("answer"),
            Some(13)
        );
        assert_eq!(chunked_end(b"a\r\n0123").expect("answer"), None);
        assert!(chunked_end(b"zz\r\n").is_err());
    }

    /// A server on port 0 that answers each request on a connection with the next canned answer,
    /// and records each request it read (head and body).
    async fn server(answers: Vec<&'static [u8]>) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut answers = answers.into_iter();
            'connections: while let Ok((mut tcp, _)) = listener.accept().await {
                let mut buf = Vec::new();
                loop {
                    // One request: its head, then content-length bytes.
                    let (head, len) = loop {
                        if let Some(end) = memchr::memmem::find(&buf, b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..end]).to_string();
                            let len: usize = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length: "))
                                .and_then(|n| n.parse().ok())
                                .unwrap_or(0);
                            break (head, end + 4 + len);
                        }
                        if tcp.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                            continue 'connections;
                        }
                    };
                    while buf.len() < len {
                        if tcp.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                            continue 'connections;
                        }
                    }
                    let body = String::from_utf8_lossy(&buf[head.len() + 4..len]).to_string();
                    buf.drain(..len);
                    seen.push(format!("{head}|{body}"));
                    let Some(answer) = answers.next() else {
                        return seen;
                    };
                    let _ = tcp.write_all(answer).await;
                    if answer.windows(17).any(|w| w == b"connection: close") {
                        continue 'connections;
                    }
                }
            }
            seen
        });
        (addr, task)
    }

    #[tokio::test]
    async fn answers_decide_acknowledgement_and_whether_the_connection_is_kept() {
        let (addr, server) = server(vec![
            b"HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\n{\"id\":1}",
            b"HTTP/1.1 429 Too Many Requests\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n",
        ])
        .await;
        let target = Target::new(
            &addr,
            "/webhook/error/t",
            &[("authorization", "Bearer t".into())],
        )
        .expect("target");
        let mut conn = Connection::new(target);
        let mut got = Vec::new();
        for body in ["one", "two", "three", "four"] {
            got.push(conn.post(Bytes::from(body)).await);
        }
        // 2xx acknowledged; 429 and 503 not; after the 503's `close`, a new connection.
        assert_eq!(got, [true, false, false, true]);
        // The server has no fifth answer: the request is sent, the connection ends, not acked.
        assert!(!conn.post(Bytes::from_static(b"five")).await);
        let seen = server.await.expect("server");
        assert_eq!(seen.len(), 5, "{seen:?}");
        assert!(
            seen[0].starts_with("POST /webhook/error/t HTTP/1.1\r\nhost: 127.0.0.1:"),
            "{}",
            seen[0]
        );
        assert!(
            seen[0].contains("\r\nauthorization: Bearer t\r\ncontent-length: 3|one"),
            "{}",
            seen[0]
        );
        assert!(seen[3].ends_with("|four"), "{}", seen[3]);
    }

    #[test]
    fn the_head_is_built_once_and_bad_parts_are_refused() {
        let t = Target::new(
            "http://127.0.0.1:4318/",
            "/api/1/envelope/",
            &[("x-sentry-auth", "Sentry sentry_key=k".into())],
        )
        .expect("answer");
        assert_eq!(
            String::from_utf8(t.head).expect("answer"),
            "POST /api/1/envelope/ HTTP/1.1\r\nhost: 127.0.0.1:4318\r\nx-sentry-auth: Sentry sentry_key=k\r\n"
        );
        assert!(Target::new("https://h:1", "/", &[]).is_err());
        assert!(Target::new("http://h:1/x", "/", &[]).is_err());
        assert!(Target::new("http://h:1", "/a b", &[]).is_err());
        assert!(Target::new("http://h:1", "/", &[("authorization", "a\r\nb".into())]).is_err());
    }
}
