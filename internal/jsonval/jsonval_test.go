package jsonval

import "testing"

func TestTimestamp(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1767000000", 1767000000, true},
		{"1767000000123", 1767000000, true},
		{"1767000000.9", 1767000000, true},
		{"1.767e9", 1767000000, true},
		{"1767000000.5x", 0, false},
		{"1767000000.", 0, false},
		{"0", 0, false},
		{"-5", 0, false},
		{"", 0, false},
		{"4294967296", 0, false},
		{"99999999999999999999999", 0, false},
		{"12abc", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := Timestamp([]byte(tt.in))
			if got != tt.want || ok != tt.ok {
				t.Errorf("Timestamp(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestAppendUnescaped(t *testing.T) {
	tests := []struct{ in, want string }{
		{`plain`, "plain"},
		{`a\"b\\c\/d`, `a"b\c/d`},
		{`\b\f\n\r\t`, "\b\f\n\r\t"},
		{`\u00e9`, "é"},
		{`\ud83d\ude00`, "😀"},
		{`\ud83d`, "\uFFFD"},
		{`\u12`, `\u12`},
		{`\x`, `\x`},
		{`end\`, `end\`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := string(AppendUnescaped([]byte(">"), []byte(tt.in)))
			if got != ">"+tt.want {
				t.Errorf("AppendUnescaped(%q) = %q, want %q", tt.in, got, ">"+tt.want)
			}
		})
	}
}
