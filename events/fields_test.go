package events

import (
	"bytes"
	"testing"
)

// FuzzInfo checks that the receiver's reading of an event object is
// exactly rating's (rating.Decode), for any object: the stored fields feed
// stats, export --since and the incremental rating, which must agree with
// rating the original JSON.
func FuzzInfo(f *testing.F) {
	for _, s := range []string{
		`{"email":"Ann@Example.COM ","event":"open","timestamp":1700000000,"sg_event_id":"x","sg_machine_open":true}`,
		`{"email":"a@x","event":"OPEN","timestamp":"1700000000123","sg_machine_open":"1"}`,
		`{"email":"a@x","event":"bounce","timestamp":1.7e9,"type":"Blocked","bounce_classification":"  technical "}`,
		`{"email":"a@x","event":"bounce","timestamp":1700000000.5,"type":"HARD","sg_message_id":"m1"}`,
		`{"email":"a@x","event":"bounce","timestamp":1700000000,"type":"Soft"}`,
		`{"email":"\u00c9T\u00c9@x","event":"click","timestamp":1700000000,"email":null}`,
		`{"email":"a@x","email":"b@x","event":"dropped","timestamp":0}`,
		`{"email":42,"event":"delivered","timestamp":"17e8","sg_event_id":12}`,
		`{"em\u0061il":"a@x","event":"delivered","timestamp":-5}`,
		`{"email":"a\ud83d\ude00@x","event":"group_resubscribe","timestamp":99999999999999}`,
		`{"email":"a@x","event":"processed","timestamp":1700000000,"sg_event_id":"","sg_message_id":"m\"2"}`,
		`{"email":"a@x","event":"unknown_kind","timestamp":1700000000}`,
		`{"email":"  ","event":"open","timestamp":1700000000}`,
		`{"email":"a@x","event":{"x":1},"timestamp":[1]}`,
		`{}`,
		"{\"email\":\"a@x\",\n \"event\": \"open\" ,\"timestamp\" :1700000000, \"nested\":{\"a\":[1,{\"b\":\"\\u0000\"}]}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, obj []byte) {
		obj = bytes.TrimSpace(obj)
		if len(obj) == 0 || obj[0] != '{' {
			return
		}
		end, _, err := scanObject(obj, 0, nil)
		if err != nil || end != len(obj) {
			return
		}
		got, ok := infoFromObject(obj)
		if !ok {
			return
		}
		want := infoOf([][]byte{obj})[0]
		if got.Valid != want.Valid || got.Kind != want.Kind || got.BounceType != want.BounceType ||
			got.Classification != want.Classification || got.MachineOpen != want.MachineOpen || got.Time != want.Time ||
			!bytes.Equal(got.Email, want.Email) || !bytes.Equal(got.MessageID, want.MessageID) {
			t.Fatalf("%s\n got  %+v\n want %+v (rating.Decode)", obj, got, want)
		}
	})
}
