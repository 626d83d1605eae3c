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

use crate::manager::Manager;

/// Longest preamble or request head accepted, in bytes.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Serves the proxy socket until `shutdown` flips.
pub async fn serve(manager: Manager, listener: UnixListener, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((conn, _)) => {
                    tokio::spawn(handle(manager.clone(), conn));
                }
                Err(e) => tracing::warn!(error = %e, "egress proxy accept failed"),
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

async fn handle(manager: Manager, conn: UnixStream) {
    let mut conn = BufReader::new(conn);
    let head = match read_head(&mut conn).await {
        Ok(h) => h,
        Err((code, why)) => {
            let _ = reply(&mut conn, code, &why).await;
            return;
        }
    };
    let Head {
        task_id,
        token,
        host,
        port,
    } = head;
    let agent = match manager.egress_check(&task_id, &token, &host, port).await {
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
    let timeout = manager.config().egress.connect_timeout;
    let upstream = match connect(&host, port, timeout).await {
        Ok(s) => s,
        Err(why) => {
            manager.audit(
                "egress",
                "net.failed",
                Some(&task_id),
                json!({ "host": host, "port": port, "agent": agent, "reason": why }),
            );
            let _ = reply(&mut conn, 502, &why).await;
            return;
        }
    };
    let address = upstream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    manager.audit(
        "egress",
        "net.connected",
        Some(&task_id),
        json!({ "host": host, "port": port, "address": address, "agent": agent }),
    );
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

/// Resolves and connects, refusing a name that resolves to a loopback or unspecified address.
async fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, String> {
    let literal: Option<IpAddr> = host.parse().ok();
    let addrs: Vec<SocketAddr> =
        tokio::time::timeout(timeout, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| format!("resolving {host} timed out"))?
            .map_err(|e| format!("resolving {host}: {e}"))?
            .collect();
    if literal.is_none() && host != "localhost" {
        if let Some(a) = addrs
            .iter()
            .find(|a| a.ip().is_loopback() || a.ip().is_unspecified())
        {
            return Err(format!(
                "{host} resolves to {}, a local address; grant that address itself to reach it",
                a.ip()
            ));
        }
    }
    let mut last = format!("{host} has no address");
    for a in addrs {
        match tokio::time::timeout(timeout, TcpStream::connect(a)).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) => last = format!("connecting to {a}: {e}"),
            Err(_) => last = format!("connecting to {a} timed out"),
        }
    }
    Err(last)
}

async fn reply(conn: &mut BufReader<UnixStream>, code: u16, why: &str) -> std::io::Result<()> {
    let status = match code {
        400 => "Bad Request",
        403 => "Forbidden",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        431 => "Request Header Fields Too Large",
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
