//! The one raw HTTP/1.1 client of the tests: requests written byte by byte,
//! as the AWS SDKs send them, to a server on loopback. Any I/O failure (a
//! server killed mid-request, a truncated answer) is an `io::Error`, never
//! a panic, so the crash and soak tests can tell a lost connection from a
//! wrong answer.
//!
//! [`request`] sends one request on a connection of its own
//! (`Connection: close`); a [`Client`] keeps one connection alive across
//! requests.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::{json, Value};

/// Socket timeout of one request, unless a [`Client`] says otherwise.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The content type of the AWS JSON 1.1 protocol.
const AMZ_JSON: &str = "application/x-amz-json-1.1";

/// One answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// The status line and the header lines as received, without the blank
    /// line that ends them.
    pub head: String,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// The server closes the connection after this answer.
    pub close: bool,
}

impl Response {
    /// `(status, the body as JSON)`.
    fn json(self) -> io::Result<(u16, Value)> {
        let v = serde_json::from_slice(&self.body)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok((self.status, v))
    }
}

/// One request on a connection of its own (`Connection: close`).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Response> {
    let mut conn = connect(addr, IO_TIMEOUT)?;
    let mut all = vec![("Connection", "close")];
    all.extend_from_slice(headers);
    conn.get_mut()
        .write_all(&request_bytes(method, path, &all, body))?;
    read_response(&mut conn)
}

/// A KMS operation (AWS JSON 1.1) on a connection of its own.
pub fn kms(addr: SocketAddr, op: &str, input: &Value) -> io::Result<(u16, Value)> {
    let target = format!("TrentService.{op}");
    request(
        addr,
        "POST",
        "/",
        &[("X-Amz-Target", &target), ("Content-Type", AMZ_JSON)],
        input.to_string().as_bytes(),
    )?
    .json()
}

/// A keep-alive HTTP/1.1 client on one connection, opened on the first
/// request and again after a failure.
pub struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
    timeout: Duration,
    /// A server closing the connection is an error (not a reason to open a
    /// new one for the next request).
    strict: bool,
}

impl Client {
    /// A client that opens a new connection whenever the server closed the
    /// last one.
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            conn: None,
            timeout: IO_TIMEOUT,
            strict: false,
        }
    }

    /// A client for which a server closing a keep-alive connection is an
    /// error, with `timeout` on every socket operation.
    pub fn keep_alive_only(addr: SocketAddr, timeout: Duration) -> Client {
        Client {
            addr,
            conn: None,
            timeout,
            strict: true,
        }
    }

    /// One request; on any error the connection is dropped (the next
    /// request opens a new one).
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<Response> {
        let r = self.exchange(&request_bytes(method, path, headers, body));
        if r.is_err() {
            self.conn = None;
        }
        r
    }

    fn exchange(&mut self, request: &[u8]) -> io::Result<Response> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => self.conn.insert(connect(self.addr, self.timeout)?),
        };
        conn.get_mut().write_all(request)?;
        let response = read_response(conn)?;
        if response.close {
            if self.strict {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "the server closed a keep-alive connection",
                ));
            }
            self.conn = None;
        }
        Ok(response)
    }

    /// An AWS JSON 1.1 call to `target` (`X-Amz-Target`).
    pub fn call(&mut self, target: &str, input: &Value) -> io::Result<(u16, Value)> {
        self.send(
            "POST",
            "/",
            &[("X-Amz-Target", target), ("Content-Type", AMZ_JSON)],
            input.to_string().as_bytes(),
        )?
        .json()
    }

    /// A KMS operation.
    pub fn kms(&mut self, op: &str, input: &Value) -> io::Result<(u16, Value)> {
        self.call(&format!("TrentService.{op}"), input)
    }

    /// A control API call: `(status, JSON answer)`.
    pub fn control(&mut self, path: &str, input: &Value) -> io::Result<(u16, Value)> {
        self.send(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            input.to_string().as_bytes(),
        )?
        .json()
    }

    /// A CloudHSM CLI line in a named CLI session: the CLI's envelope.
    pub fn cli(&mut self, cluster: &str, session: &str, command: &str) -> io::Result<Value> {
        let (status, out) = self.control(
            "/_hsmdrill/cloudhsm-cli",
            &json!({"ClusterId": cluster, "Session": session, "Command": command}),
        )?;
        if status != 200 {
            return Err(io::Error::other(format!(
                "cloudhsm-cli answered {status}: {out}"
            )));
        }
        Ok(out)
    }
}

fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<BufReader<TcpStream>> {
    let s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.set_nodelay(true)?;
    Ok(BufReader::new(s))
}

/// The bytes of a request: `Host`, `Content-Length`, `headers`, `body`.
fn request_bytes(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Reads one response: by `Content-Length`, chunks, or up to the end of
/// the connection.
fn read_response(r: &mut BufReader<TcpStream>) -> io::Result<Response> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before the response",
        ));
    }
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let mut head = line.trim_end().to_owned();
    let mut headers = Vec::new();
    let (mut content_length, mut chunked, mut close) = (None, false, false);
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(bad("truncated header"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        head.push_str("\r\n");
        head.push_str(l);
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            match k.as_str() {
                "content-length" => content_length = v.parse::<usize>().ok(),
                "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                "connection" => close = v.eq_ignore_ascii_case("close"),
                _ => {}
            }
            headers.push((k, v.to_owned()));
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim(), 16).map_err(|_| bad("chunk size"))?;
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    line.clear();
                    if r.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
                        break;
                    }
                }
                break;
            }
            let at = body.len();
            body.resize(at + size, 0);
            r.read_exact(&mut body[at..])?;
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf)?;
        }
    } else if let Some(n) = content_length {
        body.resize(n, 0);
        r.read_exact(&mut body)?;
    } else {
        r.read_to_end(&mut body)?;
        close = true;
    }
    Ok(Response {
        status,
        head,
        headers,
        body,
        close,
    })
}
