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
# Für Screenreader, wenn die Live-Aktualisierung die Seite erneuert (live.js).
live-updated = Aktualisiert

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
no-block-at-height = es gibt noch keinen Block auf Höhe { $height } (der neueste Block hat die Höhe { $tip })
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

## Gemeinsam für die Seiten des Explorers (explorer/)

ago = vor { $age }
confirmations = { $n ->
    [one] { $n } Bestätigung
   *[other] { $n } Bestätigungen
}
height = Höhe
hash = Hash
status = Status
size = Größe
time = Zeit
version = Version
block = Block
transaction = Transaktion
transactions = Transaktionen
difficulty = Schwierigkeit
target-bits = Ziel-Bits
badge-pending = ausstehend
paid-out = Ausgezahlt
inputs = Eingänge

## Die Übersicht (explorer/dashboard.rs)

explorer = Explorer
chain-of = Chain { $chain } ({ $consensus })
network-figures = Kennzahlen des Netzes
last-block = Letzter Block
block-time = Blockzeit
tps = Transaktionen pro Sekunde
mempool = Mempool
txs-and-bytes = { $txs } Tx · { $bytes }
supply = Geldmenge (laut Ausgabeplan)
hash-rate = Hashrate (geschätzt)
fee-estimates = Gebührenschätzungen
fee-estimates-note = Basiseinheiten pro Byte, aus dem Mempool geschätzt.
next-block = Nächster Block
within-blocks = Innerhalb von { $n } Blöcken
mempool-next-blocks = Mempool: die nächsten Blöcke
mempool-empty = Der Mempool ist leer: der nächste Block enthält nur seine Coinbase.
blocks-and-more = +{ $n } Blöcke und mehr
per-byte = pro Byte
projected-block = { $txs } Tx · { $bytes } · Gebühren { $fees }
latest-blocks = Neueste Blöcke
age = Alter
txs = Tx
latest-transactions = Neueste Transaktionen
no-transactions-yet = Noch keine Transaktionen außer den Blockbelohnungen.
in-block-short = Block
tip = Neuester Block
tip-at = vom { $time }

## Ein Block (explorer/block.rs)

block-n = Block { $height }
neighbouring-blocks = Benachbarte Blöcke
side-branch = Seitenzweig
final = endgültig
main-chain = Hauptkette
reward = Belohnung
reward-split = (Subvention { $subsidy } + Gebühren { $fees })
miner = Miner
producer = Blockerzeuger
proposer = Vorschlagender Validator
validators-hash = Hash der Validatorenmenge
previous-block = Vorheriger Block
merkle-root = Merkle-Wurzel
nonce = Nonce
badge-coinbase = Coinbase
pages-of-transactions = Seiten der Transaktionen
previous = Zurück
next = Weiter
page-of = Seite { $page } von { $pages }

## Eine Transaktion (explorer/tx.rs)

coinbase-transaction = Coinbase-Transaktion
badge-confirmed = bestätigt
in-block = in Block
waiting-in-mempool = im Mempool, wartet auf einen Block
fee = Gebühr
fee-rate = ({ $rate } Basiseinheiten pro Byte)
expiry = Ablauf
expiry-none = keiner
expiry-after = nach Block { $height }
witness-id = Witness-ID
data = Daten
new-coins = Neue Coins: die Blockbelohnung (Subvention und Gebühren).
spends = Vorheriger Ausgang
from = Von
amount = Betrag
signature = Signatur
unknown = unbekannt
missing = fehlt
outputs = Ausgänge
to = An
spent = Ausgegeben
fate-unspent = nicht ausgegeben
fate-spent = ausgegeben
fate-not-yet = noch nicht
fate-by-pending = von ausstehender Transaktion
multisig-signers = Multisig, { $n } Unterzeichner

## Eine Adresse (explorer/address.rs)

address = Adresse
qr-of-address = QR-Code der Adresse { $address }
balance = Guthaben
with-pending = Mit ausstehenden Transaktionen
unspent-outputs = Nicht ausgegebene Ausgänge
scan-to-pay = Scannen, um an diese Adresse zu zahlen
pending = Ausstehend
badge-sending = ausgehend
badge-receiving = eingehend
history = Verlauf
no-older-transactions = Keine älteren Transaktionen.
no-confirmed-transactions = Noch keine bestätigten Transaktionen.
received = Empfangen
sent = Gesendet
pages-of-history = Seiten des Verlaufs
newest = Neueste
older = Älter
