# Die deutschen Texte der Seiten. Ein Schlüssel, der hier fehlt, wird auf
# Englisch angezeigt (en.ftl); ein Test prüft, dass keiner fehlt.

## Der Seitenrahmen (layout.rs)

skip-to-content = Zum Inhalt springen
search-label = Suche nach Höhe, Block-Hash, Transaktions-ID oder Adresse
search-placeholder = Höhe, Block-Hash, Transaktions-ID oder Adresse
search = Suchen
footer-served = Bereitgestellt von diesem Luminex-Knoten
footer-api = REST-API
footer-metrics = Metriken
footer-language = Sprache

## Fehlerseiten (error.rs) und ihre Meldungen

error-bad-request = Ungültige Anfrage
error-not-found = Nicht gefunden
error-storage = Speicherfehler
error-storage-message = der Knoten konnte seine Datenbank nicht lesen; siehe sein Protokoll
error-page-not-built = die Seite konnte nicht erstellt werden
back-to-explorer = Zurück zum Explorer
no-such-file = es gibt keine Datei namens „{ $file }“
page-number-bad = die Seitenzahl muss eine ganze Zahl ab 1 sein
not-hex-hash = „{ $term }“ ist kein Hash: erwartet werden 64 Hexadezimalzeichen
not-hex-block-hash = „{ $term }“ ist kein Block-Hash: erwartet werden 64 Hexadezimalzeichen
not-hex-txid = „{ $term }“ ist keine Transaktions-ID: erwartet werden 64 Hexadezimalzeichen
search-empty = geben Sie eine Blockhöhe, einen Block-Hash, eine Transaktions-ID oder eine Adresse ein
search-too-long = die Suche ist zu lang ({ $len } Zeichen; höchstens { $max })
height-out-of-range = diese Höhe liegt außerhalb des gültigen Bereichs
no-block-at-height = es gibt noch keinen Block auf Höhe { $height } (die Spitze liegt bei { $tip })
no-block-or-tx = kein Block und keine Transaktion hat den Hash { $hash }
search-not-understood = „{ $term }“ ist weder eine Höhe noch ein Hash aus 64 Zeichen noch eine Adresse dieser Chain ({ $error })
block-id-bad = „{ $term }“ ist weder eine Höhe noch ein Block-Hash aus 64 Zeichen
no-block-with-hash = kein Block hat den Hash { $hash }
block-body-missing = der Inhalt von Block { $hash } ist nicht gespeichert
block-pages-past = Block { $height } hat { $pages ->
    [one] eine Seite
   *[other] { $pages } Seiten
} mit Transaktionen
no-such-tx = die Transaktion { $hash } ist unbekannt: weder in der Chain noch im Mempool
not-an-address = „{ $term }“ ist keine Adresse der Chain { $chain } ({ $error })
older-link-bad = der Seitenlink ist fehlerhaft: folgen Sie „Älter“ erneut
