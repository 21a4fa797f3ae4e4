package events

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// The Event Webhook's signature headers.
const (
	HeaderSignature = "X-Twilio-Email-Event-Webhook-Signature"
	HeaderTimestamp = "X-Twilio-Email-Event-Webhook-Timestamp"
)

// Errors of signature verification; test with errors.Is.
var (
	// ErrNoSignature: a signature or timestamp header is missing.
	ErrNoSignature = errors.New("missing signature headers")
	// ErrBadSignature: the signature does not verify with any key.
	ErrBadSignature = errors.New("signature does not verify")
	// ErrBadKey: a verification key is not a base64 DER (or PEM) ECDSA
	// P-256 public key.
	ErrBadKey = errors.New("not an ECDSA P-256 public key")
)

// PublicKey is a verification key of a signed Event Webhook. Its String
// names only its fingerprint.
type PublicKey struct {
	key *ecdsa.PublicKey
	fp  string
}

// String returns the key's type and a short fingerprint, never the key.
func (k PublicKey) String() string { return "ecdsa-p256:" + k.fp }

// ParsePublicKey parses a verification key as SendGrid shows it: the
// base64 of the DER (PKIX) public key, or a PEM "PUBLIC KEY" block.
func ParsePublicKey(s string) (PublicKey, error) {
	s = strings.TrimSpace(s)
	var der []byte
	if strings.HasPrefix(s, "-----BEGIN") {
		blk, _ := pem.Decode([]byte(s))
		if blk == nil {
			return PublicKey{}, fmt.Errorf("%w: bad PEM", ErrBadKey)
		}
		der = blk.Bytes
	} else {
		var err error
		if der, err = base64.StdEncoding.DecodeString(s); err != nil {
			return PublicKey{}, fmt.Errorf("%w: not base64", ErrBadKey)
		}
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return PublicKey{}, fmt.Errorf("%w: not a DER public key", ErrBadKey)
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return PublicKey{}, fmt.Errorf("%w: another key type or curve", ErrBadKey)
	}
	sum := sha256.Sum256(der)
	return PublicKey{key: ec, fp: base64.RawStdEncoding.EncodeToString(sum[:6])}, nil
}

// ParsePublicKeys parses several keys: comma-separated (the form of env
// SENDGRID_WEBHOOK_PUBLIC_KEY), one per line, or PEM blocks. Blank entries
// and lines starting with # are skipped. The error names the entry by its
// number, never by its text.
func ParsePublicKeys(text string) ([]PublicKey, error) {
	var keys []PublicKey
	if strings.Contains(text, "-----BEGIN") {
		rest := []byte(text)
		for n := 1; ; n++ {
			blk, r := pem.Decode(rest)
			if blk == nil {
				break
			}
			rest = r
			k, err := ParsePublicKey(string(pem.EncodeToMemory(blk)))
			if err != nil {
				return nil, fmt.Errorf("key %d: %w", n, err)
			}
			keys = append(keys, k)
		}
		return keys, nil
	}
	n := 0
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		for part := range strings.SplitSeq(line, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			n++
			k, err := ParsePublicKey(part)
			if err != nil {
				return nil, fmt.Errorf("key %d: %w", n, err)
			}
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// VerifySignature checks an Event Webhook signature: ECDSA P-256 with
// SHA-256 over the timestamp header's bytes followed by the body exactly
// as received; signature is the base64 of the ASN.1 DER signature. It
// returns nil if any key verifies, [ErrNoSignature] when a header is
// empty, [ErrBadSignature] otherwise.
//
// SendGrid docs: https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
func VerifySignature(keys []PublicKey, signature, timestamp string, body []byte) error {
	if signature == "" || timestamp == "" {
		return ErrNoSignature
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
	if err != nil || len(sig) == 0 {
		return ErrBadSignature
	}
	h := sha256.New()
	h.Write([]byte(timestamp))
	h.Write(body)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	for _, k := range keys {
		if ecdsa.VerifyASN1(k.key, sum[:], sig) {
			return nil
		}
	}
	return ErrBadSignature
}
