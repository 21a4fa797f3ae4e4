// Package events keeps SendGrid Event Webhook data: a durable,
// deduplicated, append-only event store ([Store]), the signed webhook
// receiver that fills it ([Receiver], an http.Handler), import and export
// of event files, and ratings over the store kept current incrementally
// ([Rate]). The sgseq events commands and "sgseq rate --events" are thin
// wrappers around it.
//
// # Usage
//
//	s, err := events.Open(dir, events.Options{})    // one writer per directory (a lock)
//	keys, err := events.ParsePublicKeys(os.Getenv("SENDGRID_WEBHOOK_PUBLIC_KEY"))
//	rc, err := events.NewReceiver(s, events.ReceiverConfig{Keys: keys})
//	http.ListenAndServe("127.0.0.1:8025", rc)      // behind a TLS-terminating proxy
//	...
//	res, st, err := events.Rate(ctx, dir, events.RateOptions{}) // as sgseq rate would rate an export
//
// # Layout
//
// A store is a directory:
//
//	ID                      random store identity (a rating checkpoint names it)
//	LOCK                    flock of the one writer (serve, import, prune)
//	segments/0000000001.seg append-only segment files, a new one every 64 MiB
//	rating.ckpt             the incremental rating checkpoint (a cache)
//
// A segment is a sequence of records: a 4-byte length, a CRC-32C of the
// payload, and the payload: what rating reads from the event (email,
// timestamp, event type, bounce type and classification, machine open;
// decoded once, with rating's own decoder), its sg_event_id, and the event
// object's JSON exactly as received (compacted to one line only if it
// spanned lines). About 590 bytes per event for SendGrid's ~520-byte
// events.
//
// # Durability
//
// [Store.Append] returns only once the batch's new events are written and
// fsynced; concurrent Appends are committed together, one write and one
// fsync for all the batches waiting (group commit), so the fsync cost is
// shared by every request in flight. The receiver answers 200 only after
// Append returns. Open scans the segments, rebuilds the sg_event_id index
// and truncates a torn tail: a record cut short or failing its checksum at
// the end of the newest segment is a write that was never acknowledged. A
// bad record anywhere else is reported as a [*CorruptError] and the store
// is not opened. After a failed fsync the store takes no more writes
// ([ErrFailed]; /readyz fails) until it is reopened: the kernel may have
// dropped the unsynced pages.
//
// # Deduplication
//
// The webhook resends a batch until it gets a 2xx, for up to 24 hours, and
// the same event can arrive dozens of times. Each event is stored once per
// sg_event_id (an event without one: once per exact JSON), across batches,
// concurrent requests and restarts: the index (128-bit hashes, about 40
// bytes per event in memory) is rebuilt from the segments on Open.
//
// # Signatures
//
// With verification keys, a batch must carry
// X-Twilio-Email-Event-Webhook-Signature, an ECDSA P-256 signature (base64
// ASN.1 DER) over SHA-256 of X-Twilio-Email-Event-Webhook-Timestamp's
// bytes followed by the body exactly as received; several keys (several
// webhooks) are tried in turn. The signature is checked before the body is
// parsed. Old timestamps are accepted unless ReceiverConfig.MaxAge is set:
// retries may keep their first timestamp, and a replayed batch adds nothing.
//
// # Incremental rating
//
// [Rate] gives the ratings "sgseq rate" gives for an export of the store,
// as of its newest event. The first run rates every stored event from
// their original JSON and writes a checkpoint: for every contact its
// rating and its events in compact form (7 bytes each), and the store
// position read up to. A later run reads only the records stored since,
// and re-rates, with rating's engine, from their compact events:
//
//   - every contact that got an event, whatever its timestamp (late and
//     out-of-order events included: the whole contact is replayed);
//   - every contact whose sunset recommendation may change because the
//     as-of time moved: rating's model depends on the as-of time only
//     through the sunset policy's idle steps (30, 90, 180 days) and, past
//     180 days, the unanswered re-engagement mail, so a contact is
//     re-rated when its idle time crosses a step or it is at reengage.
//
// Every other rating is taken from the checkpoint: a contact's rating
// depends only on its own events and the as-of time (rating replays each
// contact separately). The checkpoint is not used (the run is full) when
// the store was pruned, recreated or rewritten under it (the last record
// read is checked), or when this binary's rating model rates a fixed probe
// differently from the one that wrote it. The tests compare incremental
// runs with rating from scratch after every step of eight months of late,
// out-of-order and retried events, so a model change that breaks these
// assumptions fails them.
//
// # Growth
//
// The store grows by about 590 bytes per distinct event; the index by
// about 40 bytes per event in the receiver's memory, and Open reads every
// segment (about 1 s per GB). [Store.Prune] ("sgseq events prune
// --before") bounds it by deleting whole segments, oldest first, whose
// every event is older than a cutoff; ratings then start from what is
// left. The rating checkpoint is 7 bytes per event plus about 60 per
// contact (13 MB for a million events of 84,000 contacts), read and
// rewritten by every run.
package events
