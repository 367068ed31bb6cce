//! Payment requests as URIs, for QR codes and links (`docs/wallet.md`,
//! "QR codes"): `luminex:<address>?amount=<coins>&memo=<text>`, as BIP 21
//! writes Bitcoin payment requests. The amount is in coins (`12.5`); the
//! memo is percent-encoded UTF-8 (RFC 3986: every byte but the unreserved
//! characters `A-Z a-z 0-9 - . _ ~`). Both are optional.

use luminex_primitives::Amount;

/// The URI scheme.
pub const SCHEME: &str = "luminex";

/// A payment request URI could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Not a `luminex:` URI with an address.
    #[error("not a luminex: payment request")]
    Scheme,
    /// The amount is not a number of coins.
    #[error("bad amount {0:?}")]
    Amount(String),
    /// A percent escape is broken or the text is not UTF-8.
    #[error("bad percent-encoding in {0}")]
    Encoding(&'static str),
    /// A parameter this version does not know (BIP 21's `req-` prefix
    /// marks those a reader must understand).
    #[error("unknown required parameter {0:?}")]
    Unknown(String),
}

/// A request to pay an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    /// Where to pay.
    pub address: String,
    /// How much, if said.
    pub amount: Option<Amount>,
    /// What for, if said.
    pub memo: Option<String>,
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str, what: &'static str) -> Result<String, RequestError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or(RequestError::Encoding(what))?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| RequestError::Encoding(what))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| RequestError::Encoding(what))
}

impl PaymentRequest {
    /// The request as a URI.
    pub fn to_uri(&self) -> String {
        let mut params = Vec::new();
        if let Some(a) = self.amount {
            params.push(format!("amount={a}"));
        }
        if let Some(m) = &self.memo {
            params.push(format!("memo={}", percent_encode(m)));
        }
        let mut uri = format!("{SCHEME}:{}", self.address);
        if !params.is_empty() {
            uri.push('?');
            uri.push_str(&params.join("&"));
        }
        uri
    }

    /// Reads a request URI (the address is not checked here: parse it with
    /// the chain's spec).
    pub fn parse(uri: &str) -> Result<PaymentRequest, RequestError> {
        let rest = uri
            .trim()
            .split_once(':')
            .filter(|(s, _)| s.eq_ignore_ascii_case(SCHEME))
            .map(|(_, r)| r)
            .ok_or(RequestError::Scheme)?;
        let (address, query) = rest.split_once('?').unwrap_or((rest, ""));
        if address.is_empty() {
            return Err(RequestError::Scheme);
        }
        let mut r = PaymentRequest {
            address: address.to_string(),
            amount: None,
            memo: None,
        };
        for param in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = param.split_once('=').unwrap_or((param, ""));
            match k {
                "amount" => r.amount = Some(v.parse().map_err(|_| RequestError::Amount(v.into()))?),
                "memo" => r.memo = Some(percent_decode(v, "memo")?),
                k if k.starts_with("req-") => return Err(RequestError::Unknown(k.into())),
                _ => {}
            }
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        let r = PaymentRequest {
            address: "lmxdev1qtwvep24zr3ayyr57z67g7qd07k07n8tmghd9clpryns6r7527yzk6vmrq6".into(),
            amount: Some("12.5".parse().unwrap()),
            memo: Some("coffee & cake, 2×".into()),
        };
        let uri = r.to_uri();
        assert_eq!(
            uri,
            "luminex:lmxdev1qtwvep24zr3ayyr57z67g7qd07k07n8tmghd9clpryns6r7527yzk6vmrq6\
             ?amount=12.5&memo=coffee%20%26%20cake%2C%202%C3%97"
        );
        assert_eq!(PaymentRequest::parse(&uri).unwrap(), r);
        let bare = PaymentRequest {
            amount: None,
            memo: None,
            ..r.clone()
        };
        assert_eq!(bare.to_uri(), format!("luminex:{}", r.address));
        assert_eq!(PaymentRequest::parse(&bare.to_uri()).unwrap(), bare);
        // Unknown optional parameters are skipped; required ones refused.
        let extra = format!("{}&label=x", uri);
        assert_eq!(PaymentRequest::parse(&extra).unwrap(), r);
        assert!(matches!(
            PaymentRequest::parse(&format!("{uri}&req-fee=1")),
            Err(RequestError::Unknown(_))
        ));
        assert_eq!(
            PaymentRequest::parse("bitcoin:abc"),
            Err(RequestError::Scheme)
        );
        assert!(matches!(
            PaymentRequest::parse("luminex:abc?amount=x"),
            Err(RequestError::Amount(_))
        ));
        assert_eq!(
            PaymentRequest::parse("luminex:abc?memo=%E2%28"),
            Err(RequestError::Encoding("memo"))
        );
        assert_eq!(
            PaymentRequest::parse("luminex:abc?memo=%4"),
            Err(RequestError::Encoding("memo"))
        );
    }
}
