//! Who is calling, by network address: the login throttle, the audit of
//! logins and the public rate limits all count by it.

use std::net::IpAddr;

use actix_web::HttpRequest;

/// The client's address: the peer's, unless the peer is a proxy the
/// operator trusts; then the address that proxy saw (the last
/// X-Forwarded-For entry). A client could forge earlier entries, never the
/// one its proxy appended. None only when the connection has no peer address.
pub fn client_ip(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip())?;
    if trusted_proxies.contains(&peer) {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        if let Some(client) = forwarded {
            return Some(client);
        }
    }
    Some(peer)
}

/// [`client_ip`] as text, `unknown` without a peer address.
pub fn client_address(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> String {
    client_ip(req, trusted_proxies).map_or_else(|| "unknown".into(), |ip| ip.to_string())
}
