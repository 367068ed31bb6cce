//! The block explorer's pages in a real browser.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_explorer_in_a_real_browser() {
    let Some(driver_path) = driver_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let node = NodeProcess::start(dir.path(), port, &[]);
    let base = format!("http://127.0.0.1:{port}");
    let (_driver, c) = start_browser(&driver_path).await;

    // Names of each kind, from the REST API once block 1 exists.
    wait_until("the dev node's first block", || async {
        rest(port, "/health/block-sync").await["height"]
            .as_u64()
            .unwrap_or(0)
            >= 1
    })
    .await;
    let block = rest(port, "/blocks/1").await;
    let hash = block["hash"].as_str().unwrap().to_string();
    let txid = block["txids"][0].as_str().unwrap().to_string();
    let tx = rest(port, &format!("/transactions/{txid}")).await;
    let address = tx["outputs"][0]["address"].as_str().unwrap().to_string();

    let pages = [
        ("dashboard", "/".to_string()),
        ("block", "/block/1".to_string()),
        ("transaction", format!("/tx/{txid}")),
        ("address", format!("/address/{address}")),
        ("charts", "/charts".to_string()),
    ];
    let shots = screenshot_dir();
    for (width_name, w, h) in WIDTHS {
        c.set_window_size(w, h).await.unwrap();
        for (name, path) in &pages {
            c.goto(&format!("{base}{path}")).await.unwrap();
            check_page(&c, &shots, name, path, width_name).await;
        }
    }
    // An error page explains itself (its 400 is logged by the browser).
    c.goto(&format!("{base}/find?q=nonsense")).await.unwrap();
    assert!(alert_text(&c).await.contains("is not a height"));
    std::fs::write(shots.join("error-phone.png"), c.screenshot().await.unwrap()).unwrap();
    let _ = console_errors(&c).await;
    c.set_window_size(1280, 900).await.unwrap();

    // The search box finds a height, a block hash, a txid and an address.
    for (term, expected) in [
        ("1".to_string(), "/block/1".to_string()),
        (hash.clone(), format!("/block/{hash}")),
        (txid.clone(), format!("/tx/{txid}")),
        (address.clone(), format!("/address/{address}")),
    ] {
        c.goto(&format!("{base}/")).await.unwrap();
        let q = shown(&c, "#q").await;
        q.send_keys(&term).await.unwrap();
        c.find(Locator::Css("form.search button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_until(&format!("the search for {term}"), || async {
            c.current_url()
                .await
                .is_ok_and(|u| u.path() == expected.as_str())
        })
        .await;
        heading(&c).await;
    }

    // Keyboard only: Tab reaches the search box, Enter searches.
    c.goto(&format!("{base}/")).await.unwrap();
    shown(&c, "#q").await;
    let search = format!("1{}", fantoccini::key::Key::Enter);
    tab_to_and_type(&c, "q", 6, &search).await;
    wait_until("the keyboard search", || async {
        c.current_url().await.is_ok_and(|u| u.path() == "/block/1")
    })
    .await;

    // The charts: Tab reaches the range links and each chart's table; the
    // address's balance chart is drawn with its table.
    c.goto(&format!("{base}/charts")).await.unwrap();
    heading(&c).await;
    tab_reaches(
        &c,
        &["a[href='/charts?range=1000']", "figure.chart summary"],
    )
    .await;
    c.goto(&format!("{base}/address/{address}")).await.unwrap();
    heading(&c).await;
    c.find(Locator::Css("figure.chart svg[role=img] title"))
        .await
        .expect("the balance chart");
    // A dev chain has no validators: the page says so with a 404.
    c.goto(&format!("{base}/validators")).await.unwrap();
    assert!(alert_text(&c).await.contains("not a BFT chain"));
    let _ = console_errors(&c).await;

    // A new block appears on the dashboard without a reload.
    c.goto(&format!("{base}/")).await.unwrap();
    shown(&c, "body[data-live-connected]").await;
    c.execute("window.notReloaded = true; return true;", vec![])
        .await
        .unwrap();
    // Read in one script call: the live refresh may replace the element
    // between a find and a read.
    let height_js = "const e = document.getElementById('height'); return e ? e.textContent : null;";
    let first = c.execute(height_js, vec![]).await.unwrap();
    assert!(first.is_string(), "the dashboard shows the height");
    wait_until("a new block on the dashboard", || async {
        c.execute(height_js, vec![])
            .await
            .is_ok_and(|h| h.is_string() && h != first)
    })
    .await;
    let same_page = c
        .execute("return window.notReloaded === true;", vec![])
        .await
        .unwrap();
    assert_eq!(same_page, json!(true), "the page was reloaded");
    let errors = console_errors(&c).await;
    assert!(errors.is_empty(), "after live updates: {errors:?}");

    // The API's docs page works under its policy (no inline code; a
    // violation would be a console error): it lists the operations from
    // the OpenAPI document, and one sent from it gets the node's answer.
    c.goto(&format!("{base}/docs")).await.unwrap();
    let live = c
        .wait()
        .at_most(DEADLINE)
        .for_element(Locator::XPath("//summary[code='/health/live']"))
        .await
        .expect("the docs page lists /health/live");
    live.click().await.unwrap();
    c.find(Locator::Css("details[open] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_until("the answer to /health/live", || async {
        c.execute(
            "const e = document.querySelector('details[open] pre'); \
             return e ? e.textContent : '';",
            vec![],
        )
        .await
        .is_ok_and(|t| t.as_str().is_some_and(|t| t.starts_with("200")))
    })
    .await;
    let errors = console_errors(&c).await;
    assert!(errors.is_empty(), "on /docs: {errors:?}");

    // A BFT chain (`poa`, this node a follower at genesis): the dashboard
    // shows the finalized height, the validators page the set.
    let bft_dir = tempfile::tempdir().unwrap();
    let bft_port = free_port();
    let bft = NodeProcess::start_chain(bft_dir.path(), "poa", bft_port, &[]);
    let bft_base = format!("http://127.0.0.1:{bft_port}");
    c.goto(&format!("{bft_base}/")).await.unwrap();
    heading(&c).await;
    c.find(Locator::Id("finalized"))
        .await
        .expect("the finalized height");
    c.find(Locator::Css("a[href='/validators']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_path(&c, "the validators page", |p| p == "/validators").await;
    shoot(&c, &shots, "validators").await;
    let count = c
        .find(Locator::Id("validator-count"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(count, "4", "the poa preset's four validators");
    bft.stop();

    c.close().await.unwrap();
    node.stop();
}
