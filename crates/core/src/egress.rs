//! The egress proxy: the only way out of a confined task's network namespace. A relay inside the
//! sandbox (the SDK's, on `127.0.0.1:<sandbox.proxy_port>`, which task processes get as
//! `https_proxy`) forwards each connection here over a Unix socket, first sending
//! `HYPERAGENT-TASK <task id> <capability token>\r\n`, then the client's own
//! `CONNECT host:port HTTP/1.1` request. The manager decides (a rule, a grant, or the person asked
//! on the task's behalf), connects, and relays bytes; every connection, refused or made, is in the
//! audit log with its host, port, byte counts and task.
//!
//! Only CONNECT is relayed (HTTPS and other TLS traffic); plain-HTTP proxying would let the
//! manager see and alter requests, which it has no business doing. A host name granted by a rule
//! must not resolve to a loopback address (DNS rebinding onto the person's local services); only
//! a rule naming a loopback address reaches one.
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpStream, UnixListener, UnixStream};
use tokio::sync::watch;

use crate::error::Result;

/// Longest preamble or request head accepted, in bytes.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// What the proxy needs from the manager, and nothing more: the manager implements it; a test may
/// stand in for it.
pub trait Gate: Clone + Send + Sync + 'static {
    /// Whether the task holding `token` may connect to `host:port` (a rule, a grant, or the person
    /// asked); the id of its agent when it may.
    fn check(
        &self,
        task_id: &str,
        token: &str,
        host: &str,
        port: u16,
    ) -> impl std::future::Future<Output = Result<String>> + Send;
    /// The proxy's settings (`[egress]`: its timeouts and its most connections).
    fn settings(&self) -> crate::config::Egress;
    /// Records an audit entry.
    fn audit(&self, actor: &str, action: &str, task_id: Option<&str>, detail: serde_json::Value);
    /// Records an audit entry and waits until it is stored (before what it records happens).
    fn audit_stored(
        &self,
        actor: &str,
        action: &str,
        task_id: Option<&str>,
        detail: serde_json::Value,
    ) -> impl std::future::Future<Output = Result<()>> + Send;
}

/// Serves the proxy socket until `shutdown` flips.
/// At most `egress.max_connections` are open at once (a task's flood of idle connections would
/// take the manager's file descriptors); after a failed accept (none left) the socket rests for
/// `accept_error_pause` rather than being retried at once.
pub async fn serve<G: Gate>(
    manager: G,
    listener: UnixListener,
    mut shutdown: watch::Receiver<bool>,
    accept_error_pause: Duration,
) {
    let open = std::sync::Arc::new(tokio::sync::Semaphore::new(
        manager.settings().max_connections as usize,
    ));
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((conn, _)) => match open.clone().try_acquire_owned() {
                    Ok(permit) => {
                        let manager = manager.clone();
                        tokio::spawn(async move {
                            handle(manager, conn).await;
                            drop(permit);
                        });
                    }
                    // Closed at once: the relay says so to the task's client.
                    Err(_) => tracing::debug!("egress proxy: as many connections open as allowed (egress.max_connections); one closed"),
                },
                Err(e) => {
                    tracing::warn!(error = %e, pause = ?accept_error_pause, "egress proxy accept failed");
                    tokio::time::sleep(accept_error_pause).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

struct Head {
    task_id: String,
    token: String,
    host: String,
    port: u16,
}

/// Without the token: a capability token never goes into logs or panic messages.
impl std::fmt::Debug for Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Head")
            .field("task_id", &self.task_id)
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

async fn handle<G: Gate>(manager: G, conn: UnixStream) {
    let mut conn = BufReader::new(conn);
    let settings = manager.settings();
    let head = match tokio::time::timeout(settings.head_timeout, read_head(&mut conn)).await {
        Ok(Ok(h)) => h,
        Ok(Err((code, why))) => {
            let _ = reply(&mut conn, code, &why).await;
            return;
        }
        Err(_) => {
            let why = format!(
                "no request head within {:?} (egress.head_timeout)",
                settings.head_timeout
            );
            let _ = reply(&mut conn, 408, &why).await;
            return;
        }
    };
    let Head {
        task_id,
        token,
        host,
        port,
    } = head;
    let agent = match manager.check(&task_id, &token, &host, port).await {
        Ok(a) => a,
        Err(e) => {
            manager.audit(
                "egress",
                "net.refused",
                Some(&task_id),
                json!({ "host": host, "port": port, "reason": e.to_string() }),
            );
            let _ = reply(&mut conn, 403, &e.to_string()).await;
            return;
        }
    };
    let timeout = settings.connect_timeout;
    let upstream = match connect(&host, port, timeout).await {
        Ok(s) => s,
        Err(unreachable) => {
            let (action, code, why) = match unreachable {
                Unreachable::Refused(why) => ("net.refused", 403, why),
                Unreachable::Failed(why) => ("net.failed", 502, why),
            };
            manager.audit(
                "egress",
                action,
                Some(&task_id),
                json!({ "host": host, "port": port, "agent": agent, "reason": why }),
            );
            let _ = reply(&mut conn, code, &why).await;
            return;
        }
    };
    let address = upstream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    // Stored before a byte of the task's goes out: a crash then cannot leave a connection the
    // audit log does not know of.
    let audited = manager
        .audit_stored(
            "egress",
            "net.connected",
            Some(&task_id),
            json!({ "host": host, "port": port, "address": address, "agent": agent }),
        )
        .await;
    if let Err(e) = audited {
        let _ = reply(
            &mut conn,
            503,
            &format!("the connection could not be audited, so it is not made: {e}"),
        )
        .await;
        return;
    }
    if conn
        .get_mut()
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    let started = Instant::now();
    let mut upstream = upstream;
    let (sent, received) = tokio::io::copy_bidirectional(&mut conn, &mut upstream)
        .await
        .unwrap_or((0, 0));
    manager.audit(
        "egress",
        "net.closed",
        Some(&task_id),
        json!({
            "host": host, "port": port, "address": address, "agent": agent,
            "bytes_sent": sent, "bytes_received": received,
            "duration_ms": started.elapsed().as_millis() as u64,
        }),
    );
}

/// Reads the preamble and the CONNECT request; an HTTP status and reason when they are wrong.
async fn read_head(conn: &mut BufReader<UnixStream>) -> Result<Head, (u16, String)> {
    let mut pre = String::new();
    read_limited_line(conn, &mut pre).await?;
    let mut words = pre.split_whitespace();
    let (Some("HYPERAGENT-TASK"), Some(task_id), Some(token)) =
        (words.next(), words.next(), words.next())
    else {
        return Err((
            407,
            "expected `HYPERAGENT-TASK <task id> <token>` first: connect through the task's relay"
                .into(),
        ));
    };
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        read_limited_line(conn, &mut line).await?;
        head.extend_from_slice(line.as_bytes());
        if head.len() > MAX_HEAD_BYTES {
            return Err((431, "request head too large".into()));
        }
        if line == "\r\n" || line == "\n" || line.is_empty() {
            break;
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Err((400, "malformed proxy request".into())),
    }
    if req.method != Some("CONNECT") {
        return Err((
            405,
            "only CONNECT (HTTPS and other TLS) leaves through HyperAgent's egress proxy".into(),
        ));
    }
    let target = req.path.unwrap_or_default();
    let (host, port) = target
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
        .ok_or((400, format!("CONNECT target `{target}` must be HOST:PORT")))?;
    Ok(Head {
        task_id: task_id.to_string(),
        token: token.to_string(),
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase(),
        port,
    })
}

async fn read_limited_line(
    conn: &mut BufReader<UnixStream>,
    out: &mut String,
) -> Result<(), (u16, String)> {
    let mut limited = (&mut *conn).take(MAX_HEAD_BYTES as u64);
    limited
        .read_line(out)
        .await
        .map_err(|e| (400, format!("reading the request: {e}")))?;
    Ok(())
}

/// Why a granted host was not reached.
enum Unreachable {
    /// Its name resolves to an address a name grant does not cover.
    Refused(String),
    /// Resolving or connecting failed.
    Failed(String),
}

/// Resolves and connects to the very addresses it checked, refusing a name that resolves to a
/// non-public address.
async fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, Unreachable> {
    let literal: Option<IpAddr> = host.parse().ok();
    let addrs: Vec<SocketAddr> =
        tokio::time::timeout(timeout, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| Unreachable::Failed(format!("resolving {host} timed out")))?
            .map_err(|e| Unreachable::Failed(format!("resolving {host}: {e}")))?
            .collect();
    // A name is granted for what it means on the internet. One that resolves (now, or after a
    // rebinding) into the machine or its networks is refused: only a rule naming the address
    // itself (or `localhost`) reaches those.
    if literal.is_none() && host != "localhost" {
        if let Some((a, what)) = addrs
            .iter()
            .find_map(|a| not_public(a.ip()).map(|what| (a.ip(), what)))
        {
            return Err(Unreachable::Refused(format!(
                "{host} resolves to {a}, {what}; grant that address itself to reach it"
            )));
        }
    }
    let mut last = format!("{host} has no address");
    for a in addrs {
        match tokio::time::timeout(timeout, TcpStream::connect(a)).await {
            Ok(Ok(s)) => {
                // A relay forwards writes as they come: without this, a request written in two
                // parts waits for the server's delayed ACK (Nagle), ~40 ms a call.
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Ok(Err(e)) => last = format!("connecting to {a}: {e}"),
            Err(_) => last = format!("connecting to {a} timed out"),
        }
    }
    Err(Unreachable::Failed(last))
}

/// What kind of non-public address `ip` is, if it is one: loopback, the local network, link-local
/// (cloud metadata services live there), carrier-grade NAT, unique-local, multicast, reserved.
/// IPv4 addresses written as IPv6 (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
/// `2002::/16`) are judged as the IPv4 address they carry.
fn not_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => not_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return not_public_v4(v4);
            }
            let s = v6.segments();
            let o = v6.octets();
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return not_public_v4(std::net::Ipv4Addr::new(o[12], o[13], o[14], o[15]));
            }
            if s[0] == 0x2002 {
                return not_public_v4(std::net::Ipv4Addr::new(o[2], o[3], o[4], o[5]));
            }
            if v6.is_loopback() {
                Some("a loopback address")
            } else if v6.is_unspecified() || s[..6] == [0; 6] {
                // ::, and the deprecated IPv4-compatible ::a.b.c.d
                Some("an unspecified or IPv4-compatible address")
            } else if s[0] & 0xfe00 == 0xfc00 {
                Some("a unique-local address")
            } else if s[0] & 0xffc0 == 0xfe80 || s[0] & 0xffc0 == 0xfec0 {
                Some("a link-local address")
            } else if s[0] & 0xff00 == 0xff00 {
                Some("a multicast address")
            } else {
                None
            }
        }
    }
}

fn not_public_v4(v4: std::net::Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = v4.octets();
    if v4.is_loopback() {
        Some("a loopback address")
    } else if a == 0 {
        Some("an address of this host (0.0.0.0/8)")
    } else if v4.is_private() {
        Some("a private-network address")
    } else if v4.is_link_local() {
        Some("a link-local address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a carrier-grade NAT address")
    } else if a == 192 && b == 0 && c == 0 {
        Some("an IETF protocol address (192.0.0.0/24)")
    } else if a == 198 && (18..20).contains(&b) {
        Some("a benchmarking-network address")
    } else if v4.is_multicast() {
        Some("a multicast address")
    } else if a >= 240 {
        Some("a reserved or broadcast address")
    } else {
        None
    }
}

async fn reply(conn: &mut BufReader<UnixStream>, code: u16, why: &str) -> std::io::Result<()> {
    let status = match code {
        400 => "Bad Request",
        403 => "Forbidden",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Bad Gateway",
    };
    let body = format!("{why}\n");
    let msg = format!(
        "HTTP/1.1 {code} {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.get_mut().write_all(msg.as_bytes()).await?;
    conn.get_mut().shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_non_public_range_is_named_and_public_addresses_pass() {
        for (ip, what) in [
            ("127.0.0.1", "loopback"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::1", "loopback"),
            ("0.0.0.0", "this host"),
            ("::", "unspecified"),
            ("::127.0.0.1", "IPv4-compatible"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("::ffff:192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("::ffff:169.254.169.254", "link-local"),
            ("64:ff9b::a9fe:a9fe", "link-local"),
            ("2002:a9fe:a9fe::1", "link-local"),
            ("fe80::1", "link-local"),
            ("100.64.0.1", "carrier-grade NAT"),
            ("fd00::1", "unique-local"),
            ("224.0.0.1", "multicast"),
            ("ff02::1", "multicast"),
            ("255.255.255.255", "reserved or broadcast"),
        ] {
            let found = not_public(ip.parse().unwrap());
            assert!(
                found.is_some_and(|f| f.contains(what)),
                "{ip}: {found:?}, wanted {what}"
            );
        }
        for ip in [
            "1.1.1.1",
            "151.101.0.223",
            "2a04:4e42::223",
            "100.128.0.1",
            "172.32.0.1",
        ] {
            assert_eq!(not_public(ip.parse().unwrap()), None, "{ip}");
        }
    }

    /// A stand-in for the manager: allows only `allowed` and records what it audits.
    #[derive(Clone, Default)]
    struct FakeGate {
        allowed: Option<(String, u16)>,
        audited: std::sync::Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>>,
        /// `egress.head_timeout`, when not the default.
        head_timeout: Option<Duration>,
    }

    impl Gate for FakeGate {
        async fn check(&self, _task: &str, _token: &str, host: &str, port: u16) -> Result<String> {
            match &self.allowed {
                Some((h, p)) if h == host && *p == port => Ok("agent-a".into()),
                _ => Err(crate::Error::PermissionDenied(format!(
                    "no grant for {host}:{port}"
                ))),
            }
        }

        fn settings(&self) -> crate::config::Egress {
            let default = crate::config::Egress::default();
            crate::config::Egress {
                connect_timeout: Duration::from_secs(5),
                head_timeout: self.head_timeout.unwrap_or(default.head_timeout),
                ..default
            }
        }

        fn audit(
            &self,
            _actor: &str,
            action: &str,
            _task: Option<&str>,
            detail: serde_json::Value,
        ) {
            self.audited
                .lock()
                .unwrap()
                .push((action.to_string(), detail));
        }

        async fn audit_stored(
            &self,
            actor: &str,
            action: &str,
            task: Option<&str>,
            detail: serde_json::Value,
        ) -> Result<()> {
            self.audit(actor, action, task, detail);
            Ok(())
        }
    }

    async fn through(gate: FakeGate, request: &str) -> String {
        let (mut a, b) = UnixStream::pair().unwrap();
        let served = tokio::spawn(handle(gate, b));
        a.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        a.read_to_string(&mut answer).await.unwrap();
        served.await.unwrap();
        answer
    }

    #[tokio::test]
    async fn what_the_gate_refuses_gets_403_and_is_audited_with_the_reason() {
        let gate = FakeGate::default();
        let answer = through(
            gate.clone(),
            "HYPERAGENT-TASK t1 tok\r\nCONNECT pypi.org:443 HTTP/1.1\r\n\r\n",
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        assert!(answer.contains("no grant for pypi.org:443"), "{answer}");
        let audited = gate.audited.lock().unwrap().clone();
        assert_eq!(audited.len(), 1);
        assert_eq!(audited[0].0, "net.refused");
        assert_eq!(audited[0].1["host"], "pypi.org");
    }

    /// A connection that never sends its request head held one of the manager's file
    /// descriptors (and a task) for ever: it is answered 408 and closed.
    #[tokio::test]
    async fn a_connection_that_sends_no_head_is_closed_after_the_head_timeout() {
        let gate = FakeGate {
            head_timeout: Some(Duration::from_millis(50)),
            ..Default::default()
        };
        let (mut a, b) = UnixStream::pair().unwrap();
        let served = tokio::spawn(handle(gate.clone(), b));
        a.write_all(b"HYPERAGENT-TASK t1 tok\r\n").await.unwrap();
        let mut answer = String::new();
        a.read_to_string(&mut answer).await.unwrap();
        served.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("egress.head_timeout"), "{answer}");
        assert!(
            gate.audited.lock().unwrap().is_empty(),
            "nothing was asked for"
        );
    }

    #[tokio::test]
    async fn a_granted_connection_that_cannot_be_made_gets_502_and_is_audited() {
        // Nothing listens on a port the test just freed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let gate = FakeGate {
            allowed: Some(("127.0.0.1".into(), port)),
            ..Default::default()
        };
        let answer = through(
            gate.clone(),
            &format!("HYPERAGENT-TASK t1 tok\r\nCONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n"),
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 502"), "{answer}");
        let audited = gate.audited.lock().unwrap().clone();
        assert_eq!(audited.len(), 1, "{audited:?}");
        assert_eq!(audited[0].0, "net.failed");
        assert_eq!(audited[0].1["port"], port);
        assert_eq!(audited[0].1["agent"], "agent-a");
    }

    async fn head_of(sent: &str) -> Result<Head, (u16, String)> {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(sent.as_bytes()).await.unwrap();
        a.shutdown().await.unwrap();
        read_head(&mut BufReader::new(b)).await
    }

    #[tokio::test]
    async fn a_relayed_connect_is_parsed() {
        let h = head_of(
            "HYPERAGENT-TASK t1 tok\r\nCONNECT PyPI.org:443 HTTP/1.1\r\nHost: pypi.org\r\n\r\n",
        )
        .await
        .unwrap();
        assert_eq!((h.task_id.as_str(), h.token.as_str()), ("t1", "tok"));
        assert_eq!((h.host.as_str(), h.port), ("pypi.org", 443));
        let v6 = head_of("HYPERAGENT-TASK t1 tok\r\nCONNECT [::1]:8080 HTTP/1.1\r\n\r\n")
            .await
            .unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 8080));
    }

    #[tokio::test]
    async fn anything_else_gets_a_specific_status() {
        let no_preamble = head_of("CONNECT pypi.org:443 HTTP/1.1\r\n\r\n").await;
        assert_eq!(no_preamble.unwrap_err().0, 407);
        let plain_http =
            head_of("HYPERAGENT-TASK t tok\r\nGET http://pypi.org/ HTTP/1.1\r\n\r\n").await;
        let (code, why) = plain_http.unwrap_err();
        assert_eq!(code, 405);
        assert!(why.contains("only CONNECT"), "{why}");
        let no_port = head_of("HYPERAGENT-TASK t tok\r\nCONNECT pypi.org HTTP/1.1\r\n\r\n").await;
        assert_eq!(no_port.unwrap_err().0, 400);
    }
}
