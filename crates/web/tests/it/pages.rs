//! Pages, search and bad input through `luminex_web::router_with`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use luminex_api::ApiOptions;
use luminex_ledger::testkit::{lock_of, transfer};
use luminex_primitives::{Amount, Transaction, TxOut};
use luminex_service::testkit::{memory_node, memory_node_for};
use luminex_service::Node;
use tower::ServiceExt;

struct Page {
    status: StatusCode,
    content_type: String,
    location: Option<String>,
    csp: Option<String>,
    referrer: Option<String>,
    body: String,
}

async fn get(node: &Arc<Node>, uri: &str) -> Page {
    let resp = luminex_web::router_with(node.clone(), ApiOptions::default())
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let status = resp.status();
    let content_type = header("content-type").unwrap_or_default();
    let location = header("location");
    let csp = header("content-security-policy");
    let referrer = header("referrer-policy");
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Page {
        status,
        content_type,
        location,
        csp,
        referrer,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// A page that rendered: 200, HTML, the strict policy, nothing loaded from
/// elsewhere, and every asset it names served.
async fn page(node: &Arc<Node>, uri: &str) -> String {
    let p = get(node, uri).await;
    assert_eq!(p.status, StatusCode::OK, "{uri}: {}", p.body);
    assert!(p.content_type.starts_with("text/html"), "{uri}");
    assert_eq!(p.csp.as_deref(), Some(luminex_web::CONTENT_SECURITY_POLICY));
    // Nothing to other sites, and the pages' own forms keep their Origin
    // (no-referrer would make it null, which the dashboard refuses).
    assert_eq!(p.referrer.as_deref(), Some("same-origin"));
    assert!(p.body.starts_with("<!DOCTYPE html>"), "{uri}");
    for attr in ["src=\"", "href=\"", "action=\""] {
        for (i, _) in p.body.match_indices(attr) {
            let v = &p.body[i + attr.len()..];
            assert!(
                v.starts_with('/') || v.starts_with('#'),
                "{uri}: {attr} outside the node: {}",
                &v[..v.len().min(60)]
            );
            assert!(!v.starts_with("//"), "{uri}: protocol-relative URL");
        }
    }
    for asset in ["/static/app.css", "/static/icon.svg"] {
        assert!(p.body.contains(asset), "{uri} links {asset}");
    }
    p.body
}

/// A page refusing bad input: the status, HTML, the message, no panic.
async fn refused(node: &Arc<Node>, uri: &str, status: StatusCode, says: &str) {
    let p = get(node, uri).await;
    assert_eq!(p.status, status, "{uri}: {}", p.body);
    assert!(p.content_type.starts_with("text/html"), "{uri}");
    assert!(p.body.contains("role=\"alert\""), "{uri}");
    assert!(
        p.body.contains(says),
        "{uri} should say {says:?}: {}",
        p.body
    );
}

fn payment(node: &Node, from: u32, to: u32, coins: u64) -> Transaction {
    let k0 = node.spec.dev_key(from).unwrap();
    let k1 = node.spec.dev_key(to).unwrap();
    let utxos = node.chain.address_utxos(&lock_of(&k0), 10).unwrap();
    transfer(
        &node.spec,
        &k0,
        &utxos[..1],
        vec![TxOut {
            amount: Amount::from_coins(coins).unwrap(),
            lock: lock_of(&k1),
        }],
    )
}

fn address_of(node: &Node, key: u32) -> String {
    node.spec
        .address(node.spec.dev_key(key).unwrap().public_key().lock())
        .to_string()
}

#[tokio::test]
async fn every_page_renders_pending_then_confirmed() {
    let node = memory_node();
    let home = page(&node, "/").await;
    assert!(home.contains("Latest blocks"));
    assert!(home.contains("The mempool is empty"));
    assert!(home.contains("data-live=\"chain\""));
    assert!(home.contains("/static/live.js"));
    // Proof-of-work figures only on proof-of-work chains.
    assert!(!home.contains("Difficulty"));
    assert!(!page(&node, "/block/0").await.contains("Nonce"));

    // A pending payment: on the dashboard, its page and the address's.
    let tx = payment(&node, 0, 1, 5);
    let txid = node.submit(tx).unwrap().to_string();
    let home = page(&node, "/").await;
    assert!(home.contains(&format!("/tx/{txid}")), "{home}");
    assert!(home.contains("Next block"));
    assert!(!home.contains("The mempool is empty"));
    let t = page(&node, &format!("/tx/{txid}")).await;
    assert!(t.contains("pending"));
    assert!(t.contains("ml-dsa-65"), "the witness's scheme");
    assert!(t.contains("Fee"));
    let to = address_of(&node, 1);
    let a = page(&node, &format!("/address/{to}")).await;
    assert!(a.contains("receiving"));
    assert!(a.contains("<svg role=\"img\""), "the QR code");

    // Confirmed in block 1.
    let block = node.produce_block().unwrap();
    let hash = block.header.hash().to_string();
    let t = page(&node, &format!("/tx/{txid}")).await;
    assert!(t.contains("confirmed"));
    assert!(t.contains("href=\"/block/"));
    assert!(
        t.contains("1 confirmation") && !t.contains("1 confirmations"),
        "{t}"
    );
    let by_height = page(&node, "/block/1").await;
    let by_hash = page(&node, &format!("/block/{hash}")).await;
    for b in [&by_height, &by_hash] {
        assert!(b.contains(&hash));
        assert!(b.contains(&format!("/tx/{txid}")));
        assert!(b.contains("coinbase"));
        assert!(b.contains("Block 0"), "link to the parent");
    }
    let a = page(&node, &format!("/address/{to}")).await;
    assert!(a.contains(&format!("/tx/{txid}")), "history");
    assert!(!a.contains("receiving"));
    // The coinbase's page and the genesis block.
    let coinbase = block.txs[0].txid().to_string();
    assert!(page(&node, &format!("/tx/{coinbase}"))
        .await
        .contains("Coinbase transaction"));
    assert!(page(&node, "/block/0").await.contains("Block 1 →"));
    // The spent output of the genesis allocation says so.
    let from = address_of(&node, 0);
    assert!(page(&node, &format!("/address/{from}"))
        .await
        .contains("History"));
    // The dashboard lists the confirmed payment.
    assert!(page(&node, "/").await.contains(&format!("/tx/{txid}")));
}

#[tokio::test]
async fn search_finds_each_kind() {
    let node = memory_node();
    let pending = node.submit(payment(&node, 0, 1, 5)).unwrap();
    let block = node.produce_block().unwrap();
    let hash = block.header.hash();
    let waiting = node.submit(payment(&node, 2, 1, 3)).unwrap();
    let addr = address_of(&node, 1);
    for (q, to) in [
        ("1".to_string(), "/block/1".to_string()),
        (format!("  {hash} "), format!("/block/{hash}")),
        (pending.to_string(), format!("/tx/{pending}")),
        (waiting.to_string(), format!("/tx/{waiting}")),
        (addr.clone(), format!("/address/{addr}")),
    ] {
        let p = get(&node, &format!("/find?q={}", q.replace(' ', "+"))).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{q}");
        assert_eq!(p.location.as_deref(), Some(to.as_str()), "{q}");
        page(&node, &to).await;
    }
}

#[tokio::test]
async fn bad_input_gets_a_page_with_a_message_and_a_4xx() {
    let node = memory_node();
    let tip = node.chain.tip().hash;
    let before = (tip, node.mempool.read().len());
    let unknown = "ab".repeat(32);
    let bad = StatusCode::BAD_REQUEST;
    let missing = StatusCode::NOT_FOUND;
    for (uri, status, says) in [
        ("/find?q=", bad, "type a block height"),
        ("/find", bad, "type a block height"),
        ("/find?q=hello", bad, "is not a height"),
        ("/find?q=12345678901234567890123", bad, "out of range"),
        ("/find?q=99", missing, "no block at height 99"),
        (&format!("/find?q={}", "z".repeat(300)), bad, "too long"),
        (
            &format!("/find?q={unknown}"),
            missing,
            "no block or transaction",
        ),
        ("/block/abc", bad, "neither a height nor"),
        ("/block/99", missing, "no block at height 99"),
        (
            &format!("/block/{unknown}"),
            missing,
            "no block has the hash",
        ),
        (
            &format!("/block/{}", "zz".repeat(32)),
            bad,
            "64 hexadecimal",
        ),
        ("/block/0?page=0", bad, "page number"),
        ("/block/0?page=x", bad, "page number"),
        ("/block/0?page=9", missing, "page(s) of transactions"),
        ("/tx/1234", bad, "not a transaction id"),
        (&format!("/tx/{unknown}"), missing, "not in the mempool"),
        (
            "/address/lmx1notanaddress",
            bad,
            "not an address of the dev chain",
        ),
        (
            &format!("/address/{}?before=7", address_of(&node, 1)),
            bad,
            "malformed",
        ),
        ("/static/nothing.js", missing, "no file named"),
        // Said in the pages' words, not the framework's.
        ("/block/%FF", bad, "is not text (UTF-8)"),
        ("/tx/%FF%FE", bad, "is not text (UTF-8)"),
    ] {
        refused(&node, uri, status, says).await;
    }
    assert_eq!((node.chain.tip().hash, node.mempool.read().len()), before);
}

#[tokio::test]
async fn charts_show_volume_fees_and_block_times_exactly() {
    let node = memory_node();
    // Before any block: a note, no chart.
    let empty = page(&node, "/charts").await;
    assert!(
        empty.contains("No blocks beyond the genesis block"),
        "{empty}"
    );
    assert!(page(&node, "/").await.contains("href=\"/charts\""));

    node.produce_block().unwrap();
    let a = node.submit(payment(&node, 0, 1, 5)).unwrap();
    let b = node.submit(payment(&node, 2, 1, 3)).unwrap();
    let block = node.produce_block().unwrap();
    assert_eq!(block.txs.len(), 3, "{a} and {b} confirmed");
    node.produce_block().unwrap();
    let paid: u64 = block.txs[0].outputs.iter().map(|o| o.amount.base()).sum();
    let fees = paid - node.spec.subsidy(2).base();
    assert!(fees > 0);
    let fees = Amount::from_base(fees).unwrap().to_string();

    for uri in [
        "/charts",
        "/charts?range=100",
        "/charts?range=1000",
        "/charts?range=10000",
    ] {
        let c = page(&node, uri).await;
        for want in [
            "Transaction volume",
            "Fees",
            "Block times",
            "Blocks 1 to 3",
            "aria-labelledby=\"volume-title volume-desc\"",
            "<title id=\"fees-title\">",
            "<desc id=\"block-times-desc\">",
            "The figures as a table",
            "2 in all",
        ] {
            assert!(c.contains(want), "{uri} should contain {want:?}: {c}");
        }
        // The fees exactly, in the description and the table.
        assert!(c.contains(&format!("{fees} in all")), "{uri}: {c}");
        assert!(
            c.contains(&format!("<td class=\"num\">{fees}</td>")),
            "{uri}"
        );
        assert!(c.contains("aria-current=\"page\""), "{uri}");
    }
    // In German too.
    let de = get_with(&node, "/charts", &[("accept-language", b"de".as_slice())]).await;
    assert!(de.3.contains("Transaktionsvolumen"), "{}", de.3);

    // The address's balance over time: each step exact.
    let to = address_of(&node, 1);
    let addr = page(&node, &format!("/address/{to}")).await;
    assert!(addr.contains("Balance over time"), "{addr}");
    assert!(addr.contains("aria-labelledby=\"balance-chart-title balance-chart-desc\""));
    let k1 = node.spec.dev_key(1).unwrap();
    let (balance, _) = node.chain.balance(&lock_of(&k1)).unwrap();
    assert!(
        addr.contains(&format!("<td class=\"num\">{balance}</td>")),
        "{addr}"
    );
}

#[tokio::test]
async fn charts_refuse_a_range_they_do_not_offer() {
    let node = memory_node();
    node.produce_block().unwrap();
    let tip = node.chain.tip().hash;
    for uri in [
        "/charts?range=5",
        "/charts?range=100000",
        "/charts?range=all",
        "/charts?range=-1",
        "/charts?range=",
        &format!("/charts?range={}", "9".repeat(400)),
    ] {
        refused(&node, uri, StatusCode::BAD_REQUEST, "100, 1000, 10000").await;
    }
    assert_eq!(node.chain.tip().hash, tip);
}

#[tokio::test]
async fn assets_and_the_api_share_the_router() {
    let node = memory_node();
    for (path, ct) in [
        ("/static/app.css", "text/css"),
        ("/static/live.js", "text/javascript"),
        ("/static/icon.svg", "image/svg+xml"),
    ] {
        let p = get(&node, path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}");
        assert!(p.content_type.starts_with(ct), "{path}");
        assert!(p.csp.is_some());
        let body = p.body.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path}"
        );
    }
    // The REST API is still there, with its JSON errors.
    let p = get(&node, "/health/live").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.content_type.starts_with("application/json"));
    let p = get(&node, "/no/such/route").await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert_eq!(p.content_type, "application/problem+json");
    let p = get(&node, "/search?q=0").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("\"kind\":\"block\""));
}

#[tokio::test]
async fn proof_of_work_chains_show_difficulty() {
    let node = memory_node_for(luminex_ledger::ChainSpec::preset("qbtc").unwrap());
    let home = page(&node, "/").await;
    assert!(home.contains("Difficulty"), "{home}");
    assert!(home.contains("Hash rate"));
    let genesis = page(&node, "/block/0").await;
    assert!(genesis.contains("Nonce"));
    // Genesis was not mined: its coins are the genesis allocation.
    assert!(genesis.contains("Genesis allocation") && !genesis.contains("Miner"));
    // The preset's easiest target, 2^-16: its digits, not 0.0000.
    for body in [&home, &genesis] {
        assert!(body.contains("0.0000152588"), "{body}");
    }
}

/// Request headers of a test: name and raw bytes.
type Headers<'a> = Vec<(&'a str, &'a [u8])>;

/// A page fetched with request headers; its status, `Set-Cookie`, `Vary`
/// and body.
async fn get_with(
    node: &Arc<Node>,
    uri: &str,
    headers: &[(&str, &[u8])],
) -> (StatusCode, Option<String>, Option<String>, String) {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(*k, axum::http::HeaderValue::from_bytes(v).unwrap());
    }
    let resp = luminex_web::router_with(node.clone(), ApiOptions::default())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let (status, cookie, vary) = (resp.status(), header("set-cookie"), header("vary"));
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        cookie,
        vary,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

/// Asserts a page is in `lang` ("en" or "de"), judging by `<html lang>` and
/// the search button.
fn assert_in(body: &str, lang: &str, what: &str) {
    let (button, other, updated) = match lang {
        "de" => (">Suchen</button>", ">Search</button>", "Aktualisiert"),
        _ => (">Search</button>", ">Suchen</button>", "Updated"),
    };
    // What the live updates say to a screen reader.
    assert!(
        body.contains(&format!("data-updated=\"{updated}\"")),
        "{what}: {updated}"
    );
    assert!(
        body.contains(&format!("<html lang=\"{lang}\">")),
        "{what}: not {lang}"
    );
    assert!(body.contains(button), "{what}: {button}");
    assert!(!body.contains(other), "{what}: {other}");
}

#[tokio::test]
async fn the_same_pages_in_english_and_german_by_accept_language() {
    let node = memory_node();
    let txid = node.submit(payment(&node, 0, 1, 5)).unwrap();
    node.produce_block().unwrap();
    // Each page with a text of its own in English and in German.
    let pages = [
        ("/".to_string(), "Latest blocks", "Neueste Blöcke"),
        ("/block/1".to_string(), "1 confirmation", "1 Bestätigung"),
        (format!("/tx/{txid}"), "Paid out", "Ausgezahlt"),
        (
            format!("/address/{}", address_of(&node, 1)),
            "Scan to pay this address",
            "Scannen, um an diese Adresse zu zahlen",
        ),
    ];
    for (uri, en, de) in &pages {
        for (header, lang) in [
            (&b"de-DE,de;q=0.9,en;q=0.5"[..], "de"),
            (b"en-GB,en;q=0.9,de;q=0.8", "en"),
            (b"fr-FR, de;q=0.4, en;q=0.3", "de"),
            (b"fr-FR", "en"),
        ] {
            let (status, cookie, vary, body) =
                get_with(&node, uri, &[("accept-language", header)]).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            assert_in(&body, lang, uri);
            let (says, not) = if lang == "de" { (de, en) } else { (en, de) };
            assert!(body.contains(says), "{uri} in {lang}: {says}");
            assert!(!body.contains(not), "{uri} in {lang}: {not}");
            assert!(cookie.is_none(), "only the switch sets the cookie");
            assert!(vary.unwrap().contains("accept-language"), "{uri}");
        }
        // Without a header, English; the page links its German version.
        let body = page(&node, uri).await;
        assert_in(&body, "en", uri);
        let path = uri.split('?').next().unwrap();
        assert!(
            body.contains(&format!("href=\"{path}?lang=de\" lang=\"de\"")),
            "{uri}: the switch"
        );
    }
    // The search's error pages too.
    let (status, _, _, body) = get_with(&node, "/find?q=99", &[("accept-language", b"de")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_in(&body, "de", "/find?q=99");
    assert!(body.contains("Nicht gefunden"), "{body}");
    assert!(body.contains("keinen Block auf Höhe 99"), "{body}");
}

#[tokio::test]
async fn the_switch_sets_a_cookie_that_then_chooses() {
    let node = memory_node();
    // The switch wins over the header and is remembered.
    let (status, cookie, _, body) =
        get_with(&node, "/block/0?lang=de", &[("accept-language", b"en")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_in(&body, "de", "switched to de");
    let cookie = cookie.expect("the switch sets the cookie");
    for part in ["luminex_lang=de", "Path=/", "SameSite=Lax"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    // The cookie wins over the header, on any page, error pages included.
    let with_cookie: &[(&str, &[u8])] = &[
        ("cookie", b"other=1; luminex_lang=de"),
        ("accept-language", b"en-US,en;q=0.9"),
    ];
    for uri in ["/", "/block/0", "/find?q=hello"] {
        let (_, cookie, _, body) = get_with(&node, uri, with_cookie).await;
        assert_in(&body, "de", uri);
        assert!(cookie.is_none(), "{uri}");
    }
    // The switch keeps the page's other parameters.
    let (_, _, _, body) = get_with(&node, "/block/0?page=1&lang=de", &[]).await;
    assert!(
        body.contains("href=\"/block/0?page=1&amp;lang=en\""),
        "{body}"
    );
    // Switching back.
    let (_, cookie, _, body) = get_with(&node, "/?lang=en", with_cookie).await;
    assert_in(&body, "en", "switched back");
    assert!(cookie.unwrap().starts_with("luminex_lang=en;"));
}

#[tokio::test]
async fn bad_language_inputs_fall_back_to_english() {
    let node = memory_node();
    let huge = format!("{}de", "x-y;q=0.5,".repeat(6_000));
    let cases: Vec<(&str, Headers)> = vec![
        ("/?lang=xx", vec![]),
        ("/?lang=", vec![]),
        ("/?lang=%FF%00", vec![]),
        ("/", vec![("cookie", b"luminex_lang=klingon")]),
        ("/", vec![("accept-language", b";;q=,de;q=x,,=;")]),
        ("/", vec![("accept-language", b"de;q=7")]),
        ("/", vec![("accept-language", b"\xff\xfe de")]),
        ("/", vec![("accept-language", huge.as_bytes())]),
        ("/block/0", vec![("accept-language", b"*")]),
    ];
    for (uri, headers) in &cases {
        let (status, cookie, _, body) = get_with(&node, uri, headers).await;
        assert_eq!(status, StatusCode::OK, "{uri} {headers:?}");
        assert_in(&body, "en", uri);
        assert!(cookie.is_none(), "{uri}: nothing to remember");
    }
}

/// A `dev`-like chain decided by BFT with the four development validators.
fn bft_spec() -> luminex_ledger::ChainSpec {
    let mut spec = luminex_ledger::ChainSpec::preset("dev").unwrap();
    spec.consensus = luminex_ledger::spec::ConsensusKind::Bft;
    spec.bft = Some(luminex_ledger::spec::BftParams {
        dev_validators: 4,
        ..Default::default()
    });
    spec
}

/// Builds the next block on `node`'s tip and commits it with precommits of
/// the development validators `signers` (indexes 0 to 3).
fn commit_bft_block(node: &Node, signers: &[usize]) {
    use luminex_consensus::bft::message::{vote_digest, VoteKind};
    use luminex_consensus::bft::BftRules;
    use luminex_primitives::{CommitCertificate, TxKind};
    let spec = &node.spec;
    let rules = BftRules::for_spec(spec).unwrap();
    let parent = node.chain.tip_parent();
    let height = parent.height + 1;
    let record = node.chain.consensus_record(parent.height).unwrap().unwrap();
    let coinbase = Transaction {
        version: 1,
        chain_id: spec.chain_id,
        kind: TxKind::Coinbase { height },
        inputs: vec![],
        outputs: vec![],
        expiry_height: 0,
        witnesses: vec![],
        data: Vec::new(),
    };
    let block = node.chain.with_context(|ctx| {
        rules.build_block(
            &parent,
            &record,
            ctx,
            node.chain.certificate(parent.height).unwrap(),
            rules.proposer(&record, 0),
            parent.header.time_ms() + 1000,
            vec![coinbase],
        )
    });
    let set = record.validators;
    let digest = vote_digest(
        rules.domain(),
        VoteKind::Precommit,
        height,
        0,
        Some(&block.hash()),
    );
    let signed = signers
        .iter()
        .map(|i| {
            let k = luminex_crypto::SigningKey::from_seed(
                spec.default_scheme,
                &luminex_ledger::ChainSpec::dev_validator_seed(*i as u32),
            );
            let index = set.index_of(&k.public_key().key_hash()).unwrap();
            (index, k.sign(&digest))
        })
        .collect();
    let cert = CommitCertificate::new(height, 0, block.hash(), set.len(), signed);
    node.accept_certified(&Arc::new(block), &cert).unwrap();
}

#[tokio::test]
async fn validators_and_finality_on_bft_chains() {
    let node = memory_node_for(bft_spec());
    // Validator 3 misses block 2's certificate.
    commit_bft_block(&node, &[0, 1, 2, 3]);
    commit_bft_block(&node, &[0, 1, 2]);
    commit_bft_block(&node, &[0, 1, 2, 3]);
    assert_eq!(node.chain.finalized().height, 3);

    let home = page(&node, "/").await;
    assert!(home.contains("Finalized height"), "{home}");
    assert!(home.contains("href=\"/validators\""));
    let v = page(&node, "/validators").await;
    assert!(v.contains("<dd id=\"validator-count\">4</dd>"), "{v}");
    assert_eq!(v.matches("25.00\u{a0}%").count(), 4, "{v}");
    assert!(
        v.contains("<a href=\"/block/3\">3</a>"),
        "finalized and last signed"
    );
    assert!(v.contains("3 commit certificates of blocks 1 to 3"), "{v}");
    // Three signed all three; one missed one of three.
    assert_eq!(v.matches(">0 of 3<").count(), 3, "{v}");
    assert_eq!(v.matches(">1 of 3<").count(), 1, "{v}");
    let de = get_with(
        &node,
        "/validators",
        &[("accept-language", b"de".as_slice())],
    )
    .await;
    assert!(de.3.contains("Zuletzt signiert"), "{}", de.3);

    // Chains without validators answer 404 with a clear message.
    for n in [
        memory_node(),
        memory_node_for(luminex_ledger::ChainSpec::preset("qbtc").unwrap()),
    ] {
        refused(
            &n,
            "/validators",
            StatusCode::NOT_FOUND,
            "is not a BFT chain",
        )
        .await;
        assert!(!page(&n, "/").await.contains("Finalized height"));
    }
}

/// Pages that need an index the node does not keep say so with 501.
#[tokio::test]
async fn pages_of_an_index_turned_off_say_so() {
    let node = luminex_service::testkit::memory_node_without_indexes();
    let addr = address_of(&node, 0);
    let txid = luminex_primitives::Hash([7; 32]);
    for uri in [format!("/address/{addr}"), format!("/tx/{txid}")] {
        let p = get(&node, &uri).await;
        assert_eq!(p.status, StatusCode::NOT_IMPLEMENTED, "{uri}: {}", p.body);
        assert!(p.body.contains("does not keep the index"), "{uri}");
    }
}

/// The dashboard lists the latest payments even when the latest blocks
/// hold only their rewards.
#[tokio::test]
async fn the_dashboard_lists_payments_older_than_the_latest_blocks() {
    let node = memory_node();
    let txid = node.submit(payment(&node, 0, 1, 5)).unwrap().to_string();
    node.produce_block().unwrap();
    for _ in 0..15 {
        node.produce_block().unwrap();
    }
    let home = page(&node, "/").await;
    assert!(home.contains(&format!("/tx/{txid}")), "{home}");
    assert!(!home.contains("No transactions"));
}

/// A confirmed stake's page shows the fee it paid, not the fee plus the
/// coins it bonded (the inputs pay both).
#[tokio::test]
async fn a_stakes_page_shows_its_fee_without_the_bonded_coins() {
    use luminex_crypto::SigningKey;
    use luminex_ledger::staking::StakingParams;
    use luminex_ledger::testkit::staking_tx;
    use luminex_primitives::{SchemeId, Stake, TxKind};
    let mut spec = luminex_ledger::ChainSpec::preset("dev").unwrap();
    let min = Amount::from_base(1_000_000).unwrap();
    spec.staking = Some(StakingParams::new(min, 10));
    let node = memory_node_for(spec);
    let validator = SigningKey::from_seed(SchemeId::MlDsa65, &[1; 32]);
    let payer = node.spec.dev_key(0).unwrap();
    let mut coins = node.chain.address_utxos(&lock_of(&payer), 100).unwrap();
    coins.sort_by_key(|(_, c)| std::cmp::Reverse(c.output.amount));
    let bonded = Amount::from_base(3_000_000).unwrap();
    let tx = staking_tx(
        &node.spec,
        &payer,
        &coins[..1],
        TxKind::Stake(Stake {
            validator: validator.public_key().clone(),
            amount: bonded,
        }),
        Some(&validator),
    );
    let paid_in = coins[0].1.output.amount.base();
    let fee = paid_in - bonded.base() - tx.output_total().unwrap().base();
    assert!(fee > 0);
    let txid = tx.txid();
    node.submit(tx).unwrap();
    node.produce_block().unwrap();
    let body = page(&node, &format!("/tx/{txid}")).await;
    let shown = Amount::from_base(fee).unwrap().to_string();
    assert!(
        body.contains(&format!("<dd>{shown} ")),
        "fee {shown}: {body}"
    );
    let with_bond = Amount::from_base(fee + bonded.base()).unwrap().to_string();
    assert!(!body.contains(&with_bond), "{body}");
}

/// On a chain whose rewards go to the pot (`stake_weighted`), a block's
/// page says so and shows the fees its transactions paid (the coinbase
/// claims nothing, so they are not what it claimed beyond the subsidy).
#[tokio::test]
async fn a_pot_chains_block_shows_its_fees_going_to_the_pot() {
    use luminex_ledger::staking::{RewardRule, StakingParams};
    let mut spec = luminex_ledger::ChainSpec::preset("dev").unwrap();
    let mut params = StakingParams::new(Amount::from_base(1_000_000).unwrap(), 10);
    params.rewards = RewardRule::StakeWeighted;
    spec.staking = Some(params);
    let node = memory_node_for(spec);
    let tx = payment(&node, 0, 1, 3);
    let fee = node.fee_of(&tx).unwrap();
    assert!(fee.base() > 0);
    node.submit(tx).unwrap();
    let block = node.produce_block().unwrap();
    assert_eq!(node.block_fees(&block, 1), Some(fee.base()));
    let subsidy = node.spec.subsidy(1);
    let body = page(&node, "/block/1").await;
    let total = Amount::from_base(subsidy.base() + fee.base()).unwrap();
    assert!(
        body.contains(&format!(
            "{total} to the reward pot (subsidy {subsidy} + fees {fee})"
        )),
        "{body}"
    );
    // The charts count the same fees.
    let charts = page(&node, "/charts?range=100").await;
    assert!(charts.contains(&fee.to_string()), "{charts}");
}

/// The dashboard's supply by schedule counts the genesis stakes of a
/// staking chain (the ledger's issued supply).
#[tokio::test]
async fn the_dashboard_supply_counts_genesis_stakes() {
    let node = memory_node_for(luminex_ledger::ChainSpec::preset("nextgen").unwrap());
    let issued = u64::try_from(node.spec.issued_supply(0)).unwrap();
    let allocated: u64 = node
        .spec
        .genesis
        .allocations
        .iter()
        .map(|a| a.amount.base())
        .sum();
    assert!(
        issued > allocated,
        "nextgen's validators have genesis stakes"
    );
    let home = page(&node, "/").await;
    let shown = Amount::from_base(issued).unwrap().to_string();
    assert!(home.contains(&shown), "{shown}: {home}");
}

/// An unstake's page shows the stake it releases — unbonding until its
/// height, then paid at that block — under "Paid by the ledger". With
/// 3-block epochs and 3 blocks of unbonding, the unstake of block 2 is due
/// at 5 but backs the set in force through 6, so it is held and paid at 7
/// (ADR 0069): the page says 7 from the start.
#[tokio::test]
async fn an_unstakes_page_shows_the_stake_it_releases() {
    use luminex_crypto::SigningKey;
    use luminex_ledger::staking::StakingParams;
    use luminex_ledger::testkit::staking_tx;
    use luminex_primitives::{SchemeId, Stake, TxKind, Unbond};
    let mut spec = luminex_ledger::ChainSpec::preset("dev").unwrap();
    let min = Amount::from_base(1_000_000).unwrap();
    spec.staking = Some(StakingParams {
        epoch_blocks: 3,
        ..StakingParams::new(min, 3)
    });
    let node = memory_node_for(spec);
    let v = SigningKey::from_seed(SchemeId::MlDsa65, &[1; 32]);
    let mine = |payer: u32, kind: TxKind| {
        let key = node.spec.dev_key(payer).unwrap();
        let mut coins = node.chain.address_utxos(&lock_of(&key), 100).unwrap();
        coins.sort_by_key(|(_, c)| std::cmp::Reverse(c.output.amount));
        let tx = staking_tx(&node.spec, &key, &coins[..1], kind, Some(&v));
        let txid = tx.txid();
        node.submit(tx).unwrap();
        node.produce_block().unwrap();
        txid
    };
    mine(
        0,
        TxKind::Stake(Stake {
            validator: v.public_key().clone(),
            amount: Amount::from_base(3_000_000).unwrap(),
        }),
    );
    let unstake = mine(
        1,
        TxKind::Unstake(Unbond {
            validator: v.public_key().key_hash(),
            amount: min,
            payout: lock_of(&v),
        }),
    );
    assert_eq!(node.chain.tip().height, 2);
    let release = 7;
    let body = page(&node, &format!("/tx/{unstake}")).await;
    assert!(body.contains("Paid by the ledger"), "{body}");
    assert!(
        body.contains(&format!("unbonding until block {release}")),
        "{body}"
    );
    while node.chain.tip().height < release - 1 {
        node.produce_block().unwrap();
    }
    let body = page(&node, &format!("/tx/{unstake}")).await;
    assert!(
        body.contains(&format!("unbonding until block {release}")),
        "held past its release height: {body}"
    );
    node.produce_block().unwrap();
    let body = page(&node, &format!("/tx/{unstake}")).await;
    assert!(body.contains(&format!("paid at block {release}")), "{body}");
    assert!(body.contains(&min.to_string()), "{body}");
}

#[tokio::test]
async fn genesis_shows_its_allocation_not_a_reward() {
    let node = memory_node();
    node.produce_block().unwrap();
    let g = page(&node, "/block/0").await;
    assert!(g.contains("Genesis allocation"), "{g}");
    assert!(!g.contains("(subsidy "), "no reward split at genesis: {g}");
    let b1 = page(&node, "/block/1").await;
    assert!(b1.contains("(subsidy ") && !b1.contains("Genesis allocation"));
    let genesis = node.spec.genesis_block();
    let coinbase = genesis.txs[0].txid().to_string();
    let t = page(&node, &format!("/tx/{coinbase}")).await;
    assert!(t.contains("the genesis allocation"), "{t}");
    assert!(!t.contains("the block reward"), "{t}");
}

#[tokio::test]
async fn search_reads_64_digits_as_a_hash_and_counts_characters() {
    let node = memory_node();
    node.produce_block().unwrap();
    // The genesis block's previous hash, 0…01 and 1…1: hashes, not heights.
    for q in [
        "0".repeat(64),
        format!("{}1", "0".repeat(63)),
        "1".repeat(64),
    ] {
        refused(
            &node,
            &format!("/find?q={q}"),
            StatusCode::NOT_FOUND,
            &format!("no block or transaction has the hash {q}"),
        )
        .await;
    }
    // 100 CJK characters are 300 bytes but within the box's 200 characters.
    let cjk = "%E5%AD%97";
    let p = get(&node, &format!("/find?q={}", cjk.repeat(100))).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(!p.body.contains("too long"), "{}", p.body);
    assert!(p.body.contains("is not a height"), "{}", p.body);
    refused(
        &node,
        &format!("/find?q={}", cjk.repeat(201)),
        StatusCode::BAD_REQUEST,
        "too long (201 characters; at most 200)",
    )
    .await;
}

/// Two transactions of one address in one block: newest first means the
/// later in the block first, whatever their txids' order; the balance
/// chart's values follow that order.
#[tokio::test]
async fn address_history_within_a_block_is_in_block_order() {
    use luminex_ledger::Coin;
    use luminex_primitives::OutPoint;
    let node = memory_node();
    let k1 = node.spec.dev_key(1).unwrap();
    let to = address_of(&node, 1);
    let before: u64 = node
        .chain
        .address_utxos(&lock_of(&k1), usize::MAX)
        .unwrap()
        .iter()
        .map(|(_, c)| c.output.amount.base())
        .sum();
    // `a` pays key 1; `b` spends `a`'s output, so it comes later in the
    // block. Pick amounts so that the txids' order is the other way.
    let (a, b, paid) = (2..50)
        .find_map(|coins| {
            let a = payment(&node, 0, 1, coins);
            let coin = Coin {
                output: a.outputs[0],
                height: 0,
                is_coinbase: false,
            };
            let op = OutPoint {
                txid: a.txid(),
                vout: 0,
            };
            let b = transfer(
                &node.spec,
                &k1,
                &[(op, coin)],
                vec![TxOut {
                    amount: Amount::from_coins(1).unwrap(),
                    lock: lock_of(&k1),
                }],
            );
            (a.txid() > b.txid()).then_some((a, b, coins))
        })
        .unwrap();
    let (ta, tb) = (a.txid(), b.txid());
    node.submit(a).unwrap();
    node.submit(b).unwrap();
    let block = node.produce_block().unwrap();
    let pos = |t| block.txs.iter().position(|x| x.txid() == t).unwrap();
    assert!(pos(ta) < pos(tb));
    let p = page(&node, &format!("/address/{to}")).await;
    let history = &p[p.find("id=\"history\"").unwrap()..];
    let at = |t: luminex_primitives::Hash| history.find(&format!("/tx/{t}")).unwrap();
    assert!(at(tb) < at(ta), "the later in the block first: {history}");
    // The chart: after `a` the balance was `before` plus what it paid.
    let chart = &p[p.find("id=\"balance-chart-h\"").unwrap()..p.find("id=\"history-h\"").unwrap()];
    let after_a = Amount::from_base(before + Amount::from_coins(paid).unwrap().base()).unwrap();
    assert!(chart.contains(&after_a.to_string()), "{chart}");
}

/// At phone width a long hash or address wraps, and a column narrower than
/// its table lets the table scroll: the page itself never scrolls sideways
/// (a transaction page at 390 px was 452 px wide). No layout engine here,
/// so the style sheet's rules are checked.
#[tokio::test]
async fn long_hashes_wrap_and_columns_shrink_at_phone_width() {
    let node = memory_node();
    let css = get(&node, "/static/app.css").await.body;
    let rules: Vec<String> = css
        .split('}')
        .map(|r| r.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let has = |selector: &str, decl: &str| {
        rules.iter().any(|r| {
            r.rsplit("*/")
                .next()
                .unwrap()
                .trim()
                .starts_with(&format!("{selector} {{"))
                && r.contains(decl)
        })
    };
    assert!(has(".mono", "overflow-wrap: anywhere"), "{css}");
    assert!(has(".columns > *", "min-width: 0"), "{css}");
    assert!(has(".columns", "minmax(min(22rem, 100%), 1fr)"), "{css}");
    // The transaction page's hashes and addresses are `.mono`, in `.columns`.
    let tx = node.submit(payment(&node, 0, 1, 5)).unwrap();
    let t = page(&node, &format!("/tx/{tx}")).await;
    assert!(t.contains("class=\"columns\"") && t.contains("td class=\"mono\""));
}

/// A path no route takes: a browser (asking for HTML) gets the pages' "not
/// found" page, in its language; any other client the REST API's problem.
#[tokio::test]
async fn unknown_paths_get_a_page_when_html_is_asked_for() {
    let node = memory_node();
    let call = |uri: &'static str, accept: &'static str, lang: &'static str| {
        let node = node.clone();
        async move {
            let resp = luminex_web::router_with(node, ApiOptions::default())
                .oneshot(
                    Request::get(uri)
                        .header("accept", accept)
                        .header("accept-language", lang)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            let kind = resp.headers()["content-type"].to_str().unwrap().to_string();
            let csp = resp.headers().get("content-security-policy").is_some();
            let status = resp.status();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            (status, kind, csp, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    for uri in ["/nope", "/block/", "/static/"] {
        let (status, kind, csp, body) = call(uri, browser, "en").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert!(kind.starts_with("text/html"), "{uri}: {kind}");
        assert!(csp, "{uri}");
        assert!(body.contains("role=\"alert\""), "{uri}: {body}");
        assert!(body.contains("There is no page at this address"), "{body}");
        let (status, kind, _, _) = call(uri, "application/json", "en").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(kind, "application/problem+json", "{uri}");
    }
    let (_, _, _, body) = call("/nope", browser, "de").await;
    assert!(body.contains("keine Seite"), "{body}");
}
