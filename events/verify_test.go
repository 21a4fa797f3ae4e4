package events

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

// SendGrid's published test vector (sendgrid-go eventwebhook tests and the
// Event Webhook security docs).
const (
	vectorKey       = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
	vectorTimestamp = "1600112502"
	vectorSignature = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
	vectorBody      = `[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]` + "\r\n"
)

// signer is a real ECDSA P-256 key made for a test, signing as SendGrid.
type signer struct {
	priv *ecdsa.PrivateKey
	b64  string // the public key as SendGrid shows it
	pub  PublicKey
}

func newSigner(t testing.TB) *signer {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	s := &signer{priv: priv, b64: base64.StdEncoding.EncodeToString(der)}
	if s.pub, err = ParsePublicKey(s.b64); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *signer) sign(t testing.TB, ts string, body []byte) string {
	t.Helper()
	sum := sha256.Sum256(append([]byte(ts), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, s.priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func TestVerifySendGridVector(t *testing.T) {
	t.Parallel()
	key, err := ParsePublicKey(vectorKey)
	if err != nil {
		t.Fatal(err)
	}
	other := newSigner(t)
	changed := []byte(vectorBody)
	changed[10] ^= 1
	tests := []struct {
		name      string
		keys      []PublicKey
		sig, ts   string
		body      string
		wantError error
	}{
		{"vector", []PublicKey{key}, vectorSignature, vectorTimestamp, vectorBody, nil},
		{"second of two keys", []PublicKey{other.pub, key}, vectorSignature, vectorTimestamp, vectorBody, nil},
		{"without the trailing CRLF", []PublicKey{key}, vectorSignature, vectorTimestamp, strings.TrimSuffix(vectorBody, "\r\n"), ErrBadSignature},
		{"changed byte", []PublicKey{key}, vectorSignature, vectorTimestamp, string(changed), ErrBadSignature},
		{"changed timestamp", []PublicKey{key}, vectorSignature, "1600112503", vectorBody, ErrBadSignature},
		{"another key", []PublicKey{other.pub}, vectorSignature, vectorTimestamp, vectorBody, ErrBadSignature},
		{"corrupt signature", []PublicKey{key}, "MEUCIGHQ" + vectorSignature[8:20] + "AAAA" + vectorSignature[24:], vectorTimestamp, vectorBody, ErrBadSignature},
		{"signature not base64", []PublicKey{key}, "not base64!", vectorTimestamp, vectorBody, ErrBadSignature},
		{"no signature", []PublicKey{key}, "", vectorTimestamp, vectorBody, ErrNoSignature},
		{"no timestamp", []PublicKey{key}, vectorSignature, "", vectorBody, ErrNoSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifySignature(tc.keys, tc.sig, tc.ts, []byte(tc.body))
			if !errors.Is(err, tc.wantError) || (tc.wantError == nil && err != nil) {
				t.Fatalf("VerifySignature = %v, want %v", err, tc.wantError)
			}
		})
	}
}

func TestVerifyGeneratedKey(t *testing.T) {
	t.Parallel()
	s := newSigner(t)
	body := []byte(`[{"email":"a@example.com","event":"open","timestamp":1700000000}]` + "\r\n")
	sig := s.sign(t, "1700000005", body)
	if err := VerifySignature([]PublicKey{s.pub}, sig, "1700000005", body); err != nil {
		t.Fatalf("own signature: %v", err)
	}
	if err := VerifySignature([]PublicKey{s.pub}, sig, "1700000006", body); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("other timestamp: %v", err)
	}
}

func TestParsePublicKeys(t *testing.T) {
	t.Parallel()
	a, b := newSigner(t), newSigner(t)
	der, _ := base64.StdEncoding.DecodeString(a.b64)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	rsaDER := "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8QuKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ=="
	tests := []struct {
		name    string
		text    string
		want    int
		wantErr bool
	}{
		{"one", a.b64, 1, false},
		{"comma-separated", a.b64 + ", " + b.b64, 2, false},
		{"lines and comments", "# webhook 1\n" + a.b64 + "\n\n" + b.b64 + "\n", 2, false},
		{"PEM", pemKey, 1, false},
		{"empty", "", 0, false},
		{"not base64", "this is not a key", 0, true},
		{"RSA key", rsaDER, 0, true},
		{"truncated", a.b64[:40], 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := ParsePublicKeys(tc.text)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrBadKey) {
					t.Errorf("err = %v, want ErrBadKey", err)
				}
				if tc.text != "" && strings.Contains(err.Error(), tc.text) {
					t.Errorf("error quotes the key: %v", err)
				}
				return
			}
			if len(keys) != tc.want {
				t.Fatalf("%d keys, want %d", len(keys), tc.want)
			}
			for _, k := range keys {
				if strings.Contains(k.String(), a.b64[30:60]) {
					t.Errorf("String() shows the key: %s", k)
				}
			}
		})
	}
}
