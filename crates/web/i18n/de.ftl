# Die deutschen Texte der Seiten. Ein Schlüssel, der hier fehlt, wird auf
# Englisch angezeigt (en.ftl); ein Test prüft, dass keiner fehlt.

## Der Seitenrahmen (layout.rs)

skip-to-content = Zum Inhalt springen
search-label = Suche nach Höhe, Block-Hash, Transaktions-ID oder Adresse
search-placeholder = Höhe, Block-Hash, Transaktions-ID oder Adresse
search = Suchen
footer-served = Bereitgestellt von diesem Luminex-Knoten
footer-wallet = Wallet
footer-admin = Dashboard
footer-api = REST-API
footer-metrics = Metriken
footer-language = Sprache
# Für Screenreader, wenn die Live-Aktualisierung die Seite erneuert (live.js).
live-updated = Aktualisiert

## Fehlerseiten (error.rs) und ihre Meldungen

error-bad-request = Ungültige Anfrage
error-bad-path = Die Adresse dieser Seite ist fehlerhaft: ein Teil davon ist kein Text (UTF-8).
error-bad-query = Die Abfrage dieser Seite (nach dem „?“) ist fehlerhaft.
error-form-type = Das Formular wurde nicht als Webformular gesendet: senden Sie es von der Seite aus (Content-Type application/x-www-form-urlencoded). Nichts wurde geändert.
error-form-too-large = Das Formular ist größer, als der Knoten annimmt. Nichts wurde geändert.
error-form-bad = Die Felder des Formulars konnten nicht gelesen werden. Nichts wurde geändert.
error-not-found = Nicht gefunden
error-method-not-allowed = Keine Seite
error-method-not-allowed-message = Diese Adresse nimmt ein Formular der Seiten entgegen; hier gibt es nichts anzuzeigen. Nichts wurde geändert.
no-such-page = Unter dieser Adresse gibt es keine Seite.
error-storage = Speicherfehler
error-storage-message = der Knoten konnte seine Datenbank nicht lesen; siehe sein Protokoll
error-index-off = Von diesem Knoten nicht geführt
error-index-off-message = dieser Knoten führt den Index nicht, den diese Seite braucht; sein Betreiber kann ihn einschalten
error-page-not-built = die Seite konnte nicht erstellt werden
error-timeout = Zeitüberschreitung
error-timeout-message = die Anfrage dauerte länger, als der Knoten erlaubt; bitte erneut versuchen
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
no-recent-transactions = Keine Transaktionen in den letzten { $n } Blöcken außer den Blockbelohnungen.
in-block-short = Block
tip = Neuester Block
tip-at = vom { $time }

## Ein Block (explorer/block.rs)

block-n = Block { $height }
neighbouring-blocks = Benachbarte Blöcke
side-branch = Seitenzweig
block-failed = ungültig (Prüfung fehlgeschlagen)
block-invalidated = vom Betreiber für ungültig erklärt
final = endgültig
main-chain = Hauptkette
reward = Belohnung
reward-split = (Subvention { $subsidy } + Gebühren { $fees })
reward-to-pot = { $total } an den Belohnungstopf (Subvention { $subsidy } + Gebühren { $fees })
genesis-allocation = Genesis-Zuteilung
genesis-allocation-note = (die ersten Coins der Chain, von ihrer Spezifikation festgelegt: keine Subvention, keine Gebühren)
allocated-to = Zugeteilt an
pot-payout = Aus dem Topf ausgezahlt
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
new-coins-genesis = Neue Coins: die Genesis-Zuteilung, die ersten Coins der Chain (keine Subvention, keine Gebühren).
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
ledger-payouts = Vom Ledger ausgezahlt
ledger-payouts-note = Coins ohne Transaktionsausgang: die Staking-Belohnungen, die dieser Block gezahlt hat, oder der Einsatz, den diese Transaktion nach dem Unbonding freigibt.
payout-reward = Belohnung
payout-unbonding = freigegebener Einsatz
payout-paid-at = ausgezahlt in Block { $height }
payout-pending-until = im Unbonding bis Block { $height }
payout-slashed = beim Unbonding vollständig gekürzt: nichts ausgezahlt

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
balance-chart = Guthaben im Zeitverlauf
balance-chart-desc = Das Guthaben nach jeder der letzten { $n } bestätigten Transaktionen der Adresse, ab Block { $first }; jetzt { $balance }.
balance-chart-x = Blockhöhe
balance-chart-y = Guthaben
older = Älter

## Die Diagramme (explorer/charts.rs, chart.rs)

charts = Diagramme
charts-link = Diagramme: Transaktionsvolumen, Gebühren und Blockzeiten
charts-ranges = Bereiche von Blöcken
charts-last-blocks = Letzte { $n } Blöcke
charts-range-bad = „{ $range }“ ist kein Bereich, den die Diagramme anbieten: wählen Sie { $allowed } Blöcke
charts-no-blocks = Noch keine Blöcke nach dem Genesis-Block: Die Diagramme beginnen mit Block 1.
charts-span = Blöcke { $low } bis { $high }
charts-fewer = die Kette hat bisher nur { $n } Blöcke
charts-blocks = Blöcke
charts-table = Die Zahlen als Tabelle
charts-volume = Transaktionsvolumen
charts-volume-desc = Transaktionen je Abschnitt von Blöcken (ohne Coinbase), { $span }: insgesamt { $txs }.
charts-transactions = Transaktionen
charts-fees = Gebühren
charts-fees-desc = An die Blockproduzenten gezahlte Gebühren je Abschnitt von Blöcken, { $span }: insgesamt { $fees }.
charts-fees-axis = Gebühren (Coins)
charts-block-times = Blockzeiten
charts-block-times-desc = Die mittlere Zeit zwischen einem Block und seinem Vorgänger je Abschnitt von Blöcken, { $span }: { $mean } über alle.
charts-block-time-axis = Mittlere Blockzeit

## Die Validatoren (explorer/validators.rs)

validators = Validatoren
validators-link = Validatoren und Finalität
validators-not-bft = die Kette { $chain } ist keine BFT-Kette: sie hat keine Validatoren (Konsens { $consensus })
validators-no-record = der Knoten hat keinen Konsenszustand für seine Spitze
validators-figures = Die Validatorenmenge
validators-count = Validatoren
validators-total-power = Gesamtes Stimmgewicht
validators-quorum = Stimmgewicht für ein Quorum
finalized-height = Finalisierte Höhe
validators-note = Die Menge, die Block { $next } finalisiert. Signiert und verpasst stammen aus den { $n } Commit-Zertifikaten der Blöcke { $low } bis { $high }; ein Zertifikat enthält das Quorum, das sein Committer hatte, eine fehlende Signatur heißt also nicht, dass ein Validator offline ist.
validator = Validator
power = Stimmgewicht
share = Anteil
last-signed = Zuletzt signiert
missed = Verpasst
missed-of = { $missed } von { $due }
proposed = Vorgeschlagen

## Das Dashboard für Betreiber (admin/): Rahmen, Anmeldung und Abweisungen (mod.rs)

admin-dashboard = Dashboard
admin-node-dashboard = Knoten-Dashboard
admin-log-in = Anmelden
admin-log-out = Abmelden
admin-access-key = Zugangsschlüssel
admin-keys-note-before = Der Operator-Schlüssel handelt am Knoten; der Betrachter-Schlüssel sieht nur. Der Knoten schreibt beide beim Start nach
admin-keys-note-after = (nur für den Benutzer des Knotens lesbar) und nennt diese Dateien in seinem Protokoll.
admin-wrong-key = Das ist weder der Operator- noch der Betrachter-Schlüssel.
admin-locked = Zu viele falsche Schlüssel: die Anmeldung ist gesperrt. Versuchen Sie es in { $secs } s erneut.
admin-nav-overview = Übersicht
admin-nav-peers = Peers
admin-nav-alerts = Alarme
admin-nav-settings = Einstellungen
admin-nav-audit = Prüfprotokoll
admin-logged-in-operator = Angemeldet mit dem Operator-Schlüssel
admin-logged-in-viewer = Angemeldet mit dem Betrachter-Schlüssel
admin-viewer-note = Der Betrachter-Schlüssel zeigt den Knoten; Aktionen brauchen den Operator-Schlüssel.
admin-remote-title = Von hier aus nicht verfügbar
admin-remote-message = das Dashboard wird nur diesem Rechner angeboten (Loopback); die Konfiguration des Knotens kann andere Clients zulassen
admin-expired-title = Sitzung abgelaufen
admin-expired-message = Ihre Sitzung ist beendet (nach { $minutes } Minuten ohne Anfrage, durch Abmelden oder einen Neustart des Knotens); melden Sie sich erneut an. Es wurde nichts geändert.
admin-not-logged-in-title = Nicht angemeldet
admin-not-logged-in-message = melden Sie sich dafür mit dem Operator-Schlüssel an. Es wurde nichts geändert.
admin-form-refused-title = Formular nicht angenommen
admin-form-token-wrong = das Sicherheitstoken des Formulars ist falsch: es stammt nicht von den Seiten dieser Sitzung. Laden Sie die Seite neu und versuchen Sie es noch einmal. Es wurde nichts geändert.
admin-form-token-missing = das Sicherheitstoken des Formulars fehlt: es stammt nicht von den Seiten dieser Sitzung. Laden Sie die Seite neu und versuchen Sie es noch einmal. Es wurde nichts geändert.
admin-not-allowed-title = Nicht erlaubt
admin-not-allowed-message = Sie sind mit dem Betrachter-Schlüssel angemeldet: er zeigt das Dashboard, kann aber nichts ändern. Melden Sie sich zum Handeln mit dem Operator-Schlüssel an. Es wurde nichts geändert.

## Die Seiten des Dashboards (admin/pages.rs)

admin-chain = Chain { $chain }
admin-node-figures = Kennzahlen des Knotens
admin-uptime = Laufzeit
admin-role = Rolle
admin-role-validator = Validator
admin-role-follower = Mitläufer
admin-role-producer = Blockerzeuger
admin-role-full-node = Full Node
admin-sync = Synchronisation
admin-syncing = synchronisiert
admin-sync-progress = { $progress } % von { $best }
admin-peers-in-out = Peers ein- / ausgehend
admin-networking-off = Netzwerk aus
admin-cpu = CPU
admin-memory = Speicher
admin-disk = Festplatte
admin-accepted-rate = Angenommene Tx/s
admin-rates-since-start = CPU und angenommene Transaktionen pro Sekunde sind gemittelt seit dem Start des Knotens ({ $span } s); CPU-Zeit insgesamt { $cpu } s, Kapazität des Mempools { $capacity }, { $accepted } Transaktionen seit dem Start angenommen.
admin-rates-since-view = CPU und angenommene Transaktionen pro Sekunde sind gemittelt seit dem letzten Aufruf dieser Seite ({ $span } s); CPU-Zeit insgesamt { $cpu } s, Kapazität des Mempools { $capacity }, { $accepted } Transaktionen seit dem Start angenommen.
admin-p2p-off-note = Das Peer-to-Peer-Netzwerk ist auf diesem Knoten ausgeschaltet.
admin-p2p-off = das Peer-to-Peer-Netzwerk ist auf diesem Knoten ausgeschaltet
admin-this-node = Dieser Knoten:
admin-reachability = Erreichbarkeit { $reachability }
admin-no-peers = Keine Peers verbunden.
admin-connected-peers = Verbundene Peers
admin-peer = Peer
admin-direction = Richtung
admin-ping = Ping
admin-score = Bewertung
admin-actions = Aktionen
admin-disconnect = Trennen
admin-disconnect-peer = Peer { $peer } trennen
admin-ban = Sperren
admin-ban-peer-id = Peer { $peer } sperren
admin-add-or-ban = Peer hinzufügen oder sperren
admin-dial-label = Anzuwählende Adresse (Multiaddr, mit /p2p/<Peer-ID>, um sie zu behalten)
admin-add-peer = Peer hinzufügen
admin-ban-label = Zu sperrende Peer-ID
admin-ban-peer = Peer sperren
admin-banned = Gesperrt
admin-none-banned = Kein Peer ist gesperrt.
admin-audit-not-written = Das Prüfprotokoll konnte nicht geschrieben werden (siehe das Protokoll des Knotens).
admin-back = Zurück
admin-not-done = Nicht ausgeführt
admin-nothing-changed = { $why }. Es wurde nichts geändert.
admin-peer-banned = Peer gesperrt
admin-peer-banned-message = Peer { $peer } ist getrennt und gesperrt.
admin-peer-disconnected = Peer getrennt
admin-peer-disconnected-message = Peer { $peer } ist getrennt; er kann sich wieder verbinden.
admin-not-multiaddr = „{ $term }“ ist keine Multiaddr ({ $error })
admin-dialing = Wählt an
admin-dialing-message = Der Knoten wählt { $address } an; der Peer erscheint in der Liste, sobald er verbunden ist.
admin-fee-rate = Gebührensatz
admin-remove = Entfernen
admin-remove-tx = Transaktion { $txid } entfernen
admin-pool-summary = { $count } ausstehende Transaktionen, { $bytes } von { $max }.
admin-pool-empty = Der Mempool ist leer.
admin-pool-remove-note = Wer eine Transaktion entfernt, entfernt auch die, die ihre Ausgänge ausgeben; Peers können sie erneut senden.
admin-by-fee-rate = Nach Gebührensatz
admin-the-first = (die ersten { $n })
admin-caption-by-rate = Ausstehende Transaktionen nach Gebührensatz
admin-largest = Die größten
admin-caption-largest = Die größten ausstehenden Transaktionen
admin-oldest = Die ältesten
admin-caption-oldest = Die ältesten ausstehenden Transaktionen
admin-not-a-txid = das ist keine Transaktions-ID (64 Hexadezimalzeichen)
admin-not-pending = keine solche Transaktion steht aus (sie ist vielleicht schon bestätigt oder entfernt)
admin-tx-removed = Transaktion entfernt
admin-tx-removed-message = { $more ->
    [0] Transaktion { $txid } wurde aus dem Mempool entfernt.
   *[other] Transaktion { $txid } und { $more }, die sie ausgeben, wurden aus dem Mempool entfernt.
}
admin-audit-note = Jede Admin-Aktion und jeder abgewiesene Versuch, die neuesten zuerst ({ $n } je Seite), gespeichert in
admin-audit-all = Alle Einträge zeigen
admin-audit-only-done = Nur ausgeführte Aktionen zeigen (keine abgewiesenen Versuche)
admin-audit-pages = Seiten des Prüfprotokolls
admin-audit-newer = Neuer
admin-audit-older = Älter
admin-audit-unreadable = Das Prüfprotokoll konnte nicht gelesen werden:
admin-audit-empty = Noch keine Admin-Aktion.
admin-audit-no-older = Keine älteren Einträge.
admin-audit-caption = Admin-Aktionen
admin-when = Wann
admin-who = Wer
admin-what = Was
admin-on = Woran
admin-outcome = Ergebnis
admin-settings-note-before = Die Konfiguration, mit der der Knoten läuft: Flags und Umgebung vor
admin-settings-note-after = vor den Voreinstellungen. Passwörter und Schlüssel werden nie angezeigt. Nichts davon ändert sich, während der Knoten läuft: Datei oder Flags ändern und neu starten.
admin-settings-none = Dieser Knoten hat seine Konfiguration nicht veröffentlicht.
admin-settings-caption = Wirksame Konfiguration
admin-setting = Einstellung
admin-value = Wert

## Die Alarmseite (admin/alerts.rs)

alert-none-firing = Kein Alarm ist ausgelöst.
alert-n-firing = { $n } ausgelöst.
alert-rules-of = Die Regeln aus
alert-rules-of-after = , vom Knoten nach seinem jetzigen Wissen ausgewertet.
alert-caption = Alarmregeln
alert-rule = Regel
alert-condition = Bedingung hier
alert-state = Zustand
alert-firing = ausgelöst
alert-ok = ok
alert-not-evaluated = nicht ausgewertet
alert-log-heading = Neueste Warnungen und Fehler im Protokoll
alert-log-none = Keine unter den neuesten Zeilen des Protokolls.
alert-node-down = der Knoten antwortet nicht
alert-node-down-value = er hat diese Seite beantwortet
alert-no-new-blocks = seit 5 Minuten kein neuer Block (nach dem Zeitstempel des neuesten Blocks)
alert-no-new-blocks-value = letzter Block vor { $secs } s
alert-mempool-full = Mempool über 90 % seiner Kapazität
alert-fork = eine Reorganisation (seit dem Start; Prometheus betrachtet 15 Minuten)
alert-since-start = { $n } seit dem Start
alert-invalid-blocks = ein abgewiesener Block (seit dem Start; Prometheus betrachtet 15 Minuten)
alert-slow-validation = 99. Perzentil der Blockprüfung über 5 s
alert-slow-validation-why = braucht die Rate des Histogramms über 10 Minuten: siehe Prometheus
alert-rejections = abgewiesen > 10 × angenommen + 1 pro Sekunde (gemittelt seit dem Start)
alert-rejections-value = { $rejected }/s abgewiesen, { $accepted }/s angenommen
alert-peers-low = weniger als 2 Peers
alert-peers-low-value = { $n } Peers
alert-networking-off = das Netzwerk ist ausgeschaltet
alert-sync-lag = mehr als 10 Blöcke hinter dem besten Peer
alert-sync-lag-value = { $n } zurück
alert-consensus-stalled = Finalität seit 15 Minuten unverändert
alert-consensus-stalled-why = braucht den Verlauf der finalisierten Höhe: siehe Prometheus
alert-bft-cannot-finalize = seit 2 Minuten keine BFT-Höhe entschieden
alert-bft-cannot-finalize-why = braucht den Verlauf der Konsenshöhe: siehe Prometheus
alert-rounds-climbing = Runde 3 oder höher auf einer Höhe
alert-round-value = Runde { $n }
alert-frequent-round-changes = Rundenwechsel in über der Hälfte der Höhen von 15 Minuten
alert-frequent-round-changes-why = braucht 15 Minuten Verlauf: siehe Prometheus

## The browser wallet (wallet/)

wallet-title = Wallets
wallet-log-in = Bei den Wallets anmelden
wallet-operator-key = Betreiberschlüssel
wallet-key-note-before = Die Wallets öffnen sich mit dem Betreiberschlüssel des Dashboards, den der Knoten beim Start schreibt nach
wallet-key-note-after = (nur für den Benutzer des Knotens lesbar).
wallet-wrong-key = Das ist nicht der Betreiberschlüssel.
wallet-viewer-refused = Der Beobachterschlüssel darf das Dashboard ansehen, aber keine Wallets benutzen: Melden Sie sich mit dem Betreiberschlüssel an.
wallet-login-token = Dieses Anmeldeformular ist abgelaufen oder kam von anderswo: Laden Sie die Anmeldeseite neu. Nichts wurde geändert.
wallet-remote-title = Hier nicht verfügbar
wallet-remote-message = Die Wallets werden nur diesem Rechner (Loopback) angeboten. Nichts wurde geändert.
web-foreign-host-title = Unter diesem Namen nicht verfügbar
web-foreign-host-message = Diese Seite antwortet nur unter den eigenen Namen dieses Rechners (localhost oder eine Loopback-Adresse), damit keine andere Website sie über ihren eigenen Namen erreicht. Öffnen Sie sie als http://localhost oder http://127.0.0.1. Nichts wurde geändert.
web-cross-site-title = Von einer anderen Website gesendet
web-cross-site-message = Dieses Formular wurde von einer Seite einer anderen Website gesendet; nur die Seiten des Knotens dürfen es senden. Öffnen Sie die Seite auf dem Knoten und senden Sie das Formular von dort. Nichts wurde geändert.
wallet-expired-title = Sitzung abgelaufen
wallet-expired-message = Ihre Sitzung endete nach { $minutes } Minuten ohne Nutzung, ihre Wallets wurden gesperrt. Melden Sie sich erneut an. Nichts wurde geändert.
wallet-not-logged-in-title = Nicht angemeldet
wallet-not-logged-in-message = Melden Sie sich zuerst mit dem Betreiberschlüssel an. Nichts wurde geändert.
wallet-form-refused-title = Formular abgewiesen
wallet-form-token-missing = Das Formular trug kein Sicherheitstoken. Nichts wurde geändert: Öffnen Sie die Seite neu und senden Sie das Formular erneut.
wallet-form-token-wrong = Das Sicherheitstoken des Formulars gehört nicht zu dieser Sitzung. Nichts wurde geändert: Öffnen Sie die Seite neu und senden Sie das Formular erneut.
wallet-back-to-wallets = Zurück zu den Wallets
wallet-back-to-wallet = Zurück zur Wallet
wallet-nav-wallets = Wallets
wallet-nav-create = Neue Wallet
wallet-nav-restore = Wallet wiederherstellen
wallet-list-note = Die Wallet-Dateien des Knotens, gemeinsam mit luminex wallet auf der Kommandozeile, in
wallet-none = Noch keine Wallet: Legen Sie eine an oder stellen Sie eine aus ihrer Wiederherstellungsphrase wieder her.
wallet-list-caption = Die Wallets des Knotens
wallet-name = Name
wallet-name-hint = Buchstaben, Ziffern, - und _.
wallet-kind = Art
wallet-kind-phrase = Wiederherstellungsphrase
wallet-kind-dev-key = Entwicklungsschlüssel
wallet-kind-watch-only = nur beobachtend
wallet-kind-imported = importierter Schlüssel
wallet-addresses = Adressen
wallet-state = Zustand
wallet-unlocked = entsperrt
wallet-locked = gesperrt
wallet-passphrase = Passphrase
wallet-passphrase-again = Passphrase wiederholen
wallet-create-title = Neue Wallet
wallet-create-note = Der Knoten erzeugt eine Wiederherstellungsphrase aus 24 Wörtern und verschlüsselt die Wallet mit Ihrer Passphrase. Die Phrase wird einmal gezeigt: Schreiben Sie sie auf.
wallet-create-button = Anlegen
wallet-bad-name = Der Name einer Wallet besteht aus Buchstaben, Ziffern, - und _ (höchstens 64). Nichts wurde geändert.
wallet-exists = Eine Wallet namens { $name } gibt es schon. Nichts wurde geändert.
wallet-passphrase-short = Die Passphrase braucht mindestens { $min } Zeichen. Nichts wurde geändert.
wallet-passphrases-differ = Die beiden Passphrasen unterscheiden sich. Nichts wurde geändert.
wallet-phrase-title = Ihre Wiederherstellungsphrase
wallet-phrase-once = Schreiben Sie diese 24 Wörter der Reihe nach auf und bewahren Sie sie offline auf. Sie werden nur dieses eine Mal gezeigt; wer sie hat, hat die Coins.
wallet-phrase-then = Geben Sie dann drei der Wörter ein, um zu zeigen, dass sie aufgeschrieben sind. Erst dann wird die Wallet gespeichert.
wallet-word-n = Wort { $n }
wallet-confirm-button = Wallet speichern
wallet-words-wrong = Diese Wörter passen nicht zur Phrase. Die Wallet wurde nicht gespeichert: Prüfen Sie Ihre Notiz und versuchen Sie es erneut, oder beginnen Sie neu.
wallet-start-over = Mit einer neuen Phrase neu beginnen
wallet-no-creation = In dieser Sitzung wird keine Wallet angelegt (sie wurde schon gespeichert, oder die Sitzung ist neu). Nichts wurde geändert.
wallet-not-done = Nicht ausgeführt
wallet-not-written = Die Wallet-Datei konnte nicht geschrieben werden: { $error }
wallet-restore-title = Wallet wiederherstellen
wallet-restore-note = Aus ihrer Wiederherstellungsphrase. Der Knoten sucht die benutzten Adressen auf dieser Chain (bis zu { $receive } unbenutzte Empfangs- und { $change } unbenutzte Wechselgeldadressen in Folge).
wallet-phrase = Wiederherstellungsphrase
wallet-restore-button = Wiederherstellen
wallet-phrase-bad = Das ist keine gültige Wiederherstellungsphrase (24 Wörter der englischen BIP-39-Liste mit gültiger Prüfsumme). Nichts wurde geändert.
wallet-no-such = Es gibt keine Wallet namens „{ $name }“.
wallet-named = Wallet { $name }
wallet-is-locked = Diese Wallet ist gesperrt. Ihre Passphrase entsperrt sie für diese Sitzung; nach einigen Minuten ohne Nutzung und beim Abmelden sperrt sie sich wieder.
wallet-unlock-button = Entsperren
wallet-lock-button = Sperren
wallet-wrong-passphrase = Falsche Passphrase. Die Wallet bleibt gesperrt.
wallet-watch-only = Eine nur beobachtende Wallet hat keine Schlüssel: Sie lässt sich hier nicht entsperren.
wallet-locked-now = Die Wallet ist gesperrt (sie war unbenutzt oder wurde anderswo gesperrt). Entsperren Sie sie und versuchen Sie es erneut. Nichts wurde geändert.
wallet-balance = Guthaben
wallet-spendable = Jetzt ausgebbar
wallet-receive = Empfangen
wallet-send = Senden
wallet-export-csv = Verlauf als CSV
wallet-change = Wechselgeld
wallet-receiving = Empfang
wallet-status = Status
wallet-net = Saldo
wallet-no-history = Noch keine Transaktionen.
wallet-receive-note = Geben Sie diese Adresse dem Zahlenden. Eine frische Adresse je Zahlung hält Ihre Zahlungen auseinander.
wallet-fresh-address = Neue Adresse
wallet-no-address = Die Wallet hat keine Empfangsadresse.
wallet-spendable-now = Jetzt ausgebbar: { $amount }
wallet-pay-to = Zahlen an (Adresse)
wallet-amount = Betrag
wallet-amount-hint = In Coins, bis zu 8 Nachkommastellen (12.5).
wallet-fee-rate = Gebührensatz (Basiseinheiten je Byte)
wallet-fee-estimate = Schätzung: { $fast } für den nächsten Block, { $slow } innerhalb von 6 Blöcken.
wallet-review-button = Prüfen
wallet-amount-bad = „{ $term }“ ist kein Betrag: Geben Sie Coins über 0 mit bis zu 8 Nachkommastellen an. Nichts wurde geändert.
wallet-fee-rate-bad = Der Gebührensatz muss eine ganze Zahl von { $min } bis { $max } sein. Nichts wurde geändert.
wallet-amount-too-large = Der Betrag { $term } ist mehr, als es je geben kann (höchstens { $max } Coins); die Wallet kann jetzt { $available } ausgeben. Nichts wurde geändert.
wallet-insufficient = Betrag plus Gebühr ({ $needed }) ist mehr, als die Wallet jetzt ausgeben kann ({ $available }). Nichts wurde geändert.
wallet-insufficient-all-dust = Bei einem Gebührensatz von { $rate } Basiseinheiten pro Byte ist jeder Coin der Wallet weniger wert als die Gebühr, ihn auszugeben; keiner kann zahlen (jetzt ausgebbar: { $spendable }). Senken Sie den Gebührensatz. Nichts wurde geändert.
wallet-insufficient-some-dust = Der Betrag samt Gebühr ({ $needed }) ist mehr, als die Coins enthalten, die sich bei einem Gebührensatz von { $rate } Basiseinheiten pro Byte auszugeben lohnen ({ $available } von { $spendable } jetzt ausgebbar: ein Coin, der weniger wert ist als die Gebühr, ihn auszugeben, bleibt außen vor). Senken Sie den Gebührensatz oder den Betrag. Nichts wurde geändert.
wallet-fee-too-high = Diese Zahlung würde { $fee } Gebühren zahlen, mehr als die höchstens { $max }, die diese Wallet zahlt. Senken Sie den Gebührensatz oder senden Sie sie mit `luminex wallet send --max-fee`. Nichts wurde geändert.
wallet-payment-refused = Die Zahlung ist nicht möglich: { $error }. Es wurde nichts geändert.
wallet-review-title = Zahlung bestätigen
wallet-review-summary = { $amount } an { $to } zahlen. Genau das wird signiert:
wallet-per-byte = { $rate } je Byte
wallet-signed-message = Signierte Nachricht
wallet-inputs = Ausgegebene Coins
wallet-outputs = Ausgaben
wallet-coin = Coin
wallet-role = Rolle
wallet-payment = Zahlung
wallet-sign-button = Signieren und senden
wallet-cancel = Zahlung ändern
wallet-not-sent = Nicht gesendet
wallet-no-plan = Diese Zahlung wartet nicht mehr (sie wurde gesendet, durch eine neuere ersetzt, oder ihre Wallet wurde gesperrt). Nichts wurde gesendet.
wallet-changed = Die Wallet hat sich geändert, seit diese Zahlung gezeigt wurde. Nichts wurde gesendet: Prüfen Sie sie erneut.
wallet-refused-by-node = Der Knoten hat die Zahlung abgewiesen ({ $error }). Nichts wurde gesendet.
wallet-payment-title = Zahlung
wallet-confirmed = Bestätigt
wallet-confirmed-at = in Block { $height } ({ $n ->
    [one] { $n } Bestätigung
   *[other] { $n } Bestätigungen
})
wallet-pending-note = wartet auf einen Block
wallet-tx-unknown = Der Knoten kennt diese Transaktion nicht (sie wurde vielleicht verworfen).
wallet-tx-not-ours = Diese Transaktion zahlt weder an eine Adresse der Wallet „{ $wallet }“ noch gibt sie eine aus: sie gehört nicht zu dieser Wallet. Der Explorer zeigt jede Transaktion.
wallet-status-live = Diese Seite folgt neuen Blöcken von selbst; ohne JavaScript laden Sie sie neu.
wallet-in-explorer = Im Explorer
