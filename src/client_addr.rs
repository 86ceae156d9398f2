//! The client's address: the one fact about an anonymous caller that throttles and limits can
//! key on. It is the TCP peer, unless the peer is one of `server.trusted_proxies`: then it is the
//! right-most address of the forwarded-for header that is not itself a trusted proxy (every
//! address left of it was written by someone we do not trust, the client included). The same
//! address feeds the request's log span, the login throttles and the limits on anonymous email.

use std::fmt;
use std::future::{ready, Ready};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, HeaderName};
use actix_web::{web, FromRequest, HttpRequest};

use crate::config::{ForwardedHeader, ServerSettings};
use crate::context::Context;
use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(IpAddr);

impl ClientAddr {
    pub fn new(ip: IpAddr) -> ClientAddr {
        ClientAddr(ip.to_canonical())
    }

    pub fn ip(&self) -> IpAddr {
        self.0
    }

    /// What throttles count by: the IPv4 address, or the IPv6 /64 (one subscriber's network:
    /// a host picks any address in it at will, so counting single addresses would count nothing).
    pub fn key(&self) -> String {
        match self.0 {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => {
                let network = u128::from(ip) & (u128::MAX << 64);
                format!("{}/64", Ipv6Addr::from(network))
            }
        }
    }

    /// The client of a request that came from `peer` with `headers`.
    pub fn resolve(
        peer: Option<SocketAddr>,
        headers: &HeaderMap,
        server: &ServerSettings,
    ) -> ClientAddr {
        let peer = peer
            .map(|p| p.ip().to_canonical())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let trusted = &server.trusted_proxies;
        if trusted.is_empty() || !trusted.contains(peer) {
            return ClientAddr(peer);
        }
        let hops = forwarded_hops(headers, server.forwarded_header);
        // From the right: each trusted hop vouches for the address to its left.
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) if trusted.contains(*ip) => client = *ip,
                Some(ip) => return ClientAddr(*ip),
                // `unknown`, an obfuscated name or garbage: the last trusted hop is all we know.
                None => break,
            }
        }
        ClientAddr(client)
    }
}

impl fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The addresses the header lists, left (the client, by its own account) to right (the proxy
/// nearest to us); `None` where an entry is not an IP address. Repeated headers are one list.
fn forwarded_hops(headers: &HeaderMap, header: ForwardedHeader) -> Vec<Option<IpAddr>> {
    let name = match header {
        ForwardedHeader::XForwardedFor => HeaderName::from_static("x-forwarded-for"),
        ForwardedHeader::Forwarded => actix_web::http::header::FORWARDED,
    };
    let mut hops = Vec::new();
    for value in headers.get_all(name) {
        let Ok(value) = value.to_str() else {
            hops.push(None);
            continue;
        };
        for entry in value.split(',') {
            hops.push(match header {
                ForwardedHeader::XForwardedFor => parse_node(entry),
                ForwardedHeader::Forwarded => entry
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(key, _)| key.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, node)| parse_node(node)),
            });
        }
    }
    hops
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `"[2001:db8::1]:4711"`.
fn parse_node(raw: &str) -> Option<IpAddr> {
    let node = raw.trim().trim_matches('"');
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(socket) = node.parse::<SocketAddr>() {
        return Some(socket.ip().to_canonical());
    }
    node.strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(ip, _)| ip.parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
}

/// The client's address, as a handler's argument.
impl FromRequest for ClientAddr {
    type Error = AppError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.app_data::<web::Data<Context>>()
                .map(|state| {
                    ClientAddr::resolve(req.peer_addr(), req.headers(), &state.settings.server)
                })
                .ok_or_else(|| AppError::internal("application state missing")),
        )
    }
}

/// What the calling client may make Convene email (src/mail/limits.rs), as a handler's argument.
impl FromRequest for crate::mail::MailQuota {
    type Error = AppError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.app_data::<web::Data<Context>>()
                .map(|state| {
                    let client =
                        ClientAddr::resolve(req.peer_addr(), req.headers(), &state.settings.server);
                    crate::mail::MailQuota::new(state.settings.limits, client)
                })
                .ok_or_else(|| AppError::internal("application state missing")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn server(trusted: &[&str], header: ForwardedHeader) -> ServerSettings {
        ServerSettings {
            host: "127.0.0.1".into(),
            port: 0,
            body_limit: 1,
            shutdown_timeout_secs: 1,
            public_cache_ms: 0,
            trusted_proxies: trusted
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .try_into()
                .expect("valid"),
            forwarded_header: header,
            metrics_token: None,
        }
    }

    fn headers(name: &'static str, values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        map
    }

    fn peer(ip: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip.parse().expect("ip"), 4711))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let s = server(&[], ForwardedHeader::XForwardedFor);
        let h = headers("x-forwarded-for", &["198.51.100.7"]);
        assert_eq!(
            ClientAddr::resolve(peer("203.0.113.1"), &h, &s).ip(),
            ip("203.0.113.1")
        );
        let s = server(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        assert_eq!(
            ClientAddr::resolve(peer("203.0.113.1"), &h, &s).ip(),
            ip("203.0.113.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let s = server(&["10.0.0.0/8", "192.0.2.9"], ForwardedHeader::XForwardedFor);
        // The client forged the first entry; the proxies appended the rest.
        let h = headers(
            "x-forwarded-for",
            &["1.1.1.1, 198.51.100.7", "192.0.2.9, 10.1.2.3"],
        );
        assert_eq!(
            ClientAddr::resolve(peer("10.0.0.1"), &h, &s).ip(),
            ip("198.51.100.7")
        );
        // Nothing forwarded: the proxy itself.
        assert_eq!(
            ClientAddr::resolve(peer("10.0.0.1"), &HeaderMap::new(), &s).ip(),
            ip("10.0.0.1")
        );
        // Garbage right of the client: the last trusted hop.
        let h = headers("x-forwarded-for", &["198.51.100.7, nonsense, 10.1.2.3"]);
        assert_eq!(
            ClientAddr::resolve(peer("10.0.0.1"), &h, &s).ip(),
            ip("10.1.2.3")
        );
    }

    #[test]
    fn the_forwarded_header_is_read_when_configured() {
        let s = server(&["10.0.0.0/8"], ForwardedHeader::Forwarded);
        let h = headers(
            "forwarded",
            &["for=1.1.1.1, for=\"[2001:db8::17]:4711\";proto=https, for=10.9.9.9"],
        );
        assert_eq!(
            ClientAddr::resolve(peer("10.0.0.1"), &h, &s).ip(),
            ip("2001:db8::17")
        );
        // X-Forwarded-For is not believed when Forwarded is the configured header.
        let h = headers("x-forwarded-for", &["198.51.100.7"]);
        assert_eq!(
            ClientAddr::resolve(peer("10.0.0.1"), &h, &s).ip(),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        assert_eq!(
            ClientAddr::new(ip("2001:db8:1:2:aaaa::1")).key(),
            "2001:db8:1:2::/64"
        );
        assert_eq!(ClientAddr::new(ip("::ffff:192.0.2.1")).key(), "192.0.2.1");
        assert_eq!(ClientAddr::new(ip("192.0.2.1")).key(), "192.0.2.1");
    }

    #[test]
    fn trusted_proxies_parse_addresses_and_blocks_and_refuse_the_rest() {
        let ok: Result<crate::config::TrustedProxies, _> = vec![
            "127.0.0.1".to_owned(),
            "10.0.0.0/8".to_owned(),
            "::1".to_owned(),
        ]
        .try_into();
        let ok = ok.expect("parses");
        assert!(ok.contains(ip("10.2.3.4")) && ok.contains(ip("::1")));
        assert!(!ok.contains(ip("11.0.0.1")));
        let bad: Result<crate::config::TrustedProxies, _> = vec!["localhost".to_owned()].try_into();
        assert!(bad.is_err());
    }
}
