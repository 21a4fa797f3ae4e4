package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestStatusCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		status    int
		body      string
		wantCalls int // GETs are retried on 429/5xx (fastRetry: 3 retries)
		sentinel  error
		wantMsg   string
	}{
		{"400", 400, `{"errors":[{"field":"from","message":"failed to parse request: \"from\" cannot be more than 90 days in the past"}]}`, 1, nil, `400 Bad Request: from: failed to parse request: "from" cannot be more than 90 days in the past`},
		{"401", 401, `{"errors":[{"field":null,"message":"authorization required"}]}`, 1, ErrUnauthorized, "401 Unauthorized: authorization required"},
		{"403", 403, `{"errors":[{"field":null,"message":"access forbidden"}]}`, 1, ErrForbidden, "403 Forbidden: access forbidden"},
		{"404", 404, `{"errors":[{"field":null,"message":"not found"}]}`, 1, ErrNotFound, "404 Not Found: not found"},
		{"429", 429, `{"errors":[{"field":null,"message":"too many requests"}]}`, 4, ErrRateLimited, "429 Too Many Requests: too many requests"},
		{"500", 500, `{"errors":[{"field":null,"message":"internal error"}]}`, 4, nil, "500 Internal Server Error: internal error"},
		{"501 not retried", 501, ``, 1, nil, "501 Not Implemented"},
		{"502", 502, `<html><body><h1>502 Bad Gateway</h1></body></html>`, 4, nil, "502 Bad Gateway: 502 Bad Gateway"},
		{"503", 503, `upstream unavailable`, 4, nil, "503 Service Unavailable: upstream unavailable"},
		{"504", 504, ``, 4, nil, "504 Gateway Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, rec := newMocked(t, respond(tt.status, tt.body))
			_, err := c.Scores(context.Background(), testYesterday, testYesterday)
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			if apiErr.StatusCode != tt.status || apiErr.Method != "GET" || apiErr.Path != "/v3/engagementquality/scores" {
				t.Errorf("APIError = %+v", apiErr)
			}
			if n := rec.count(); n != tt.wantCalls {
				t.Errorf("%d requests, want %d", n, tt.wantCalls)
			}
			want := "GET /v3/engagementquality/scores: " + tt.wantMsg
			if err.Error() != want {
				t.Errorf("Error() = %q\nwant      %q", err.Error(), want)
			}
			for _, s := range []error{ErrUnauthorized, ErrForbidden, ErrNotFound, ErrRateLimited, ErrScoresPending} {
				if got := errors.Is(err, s); got != (s == tt.sentinel) {
					t.Errorf("errors.Is(err, %v) = %v", s, got)
				}
			}
		})
	}
}

func TestErrorBodies(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("<p>oops   \n\t", 500)
	tests := []struct {
		name       string
		body       string
		wantErrors []ErrorDetail
		wantID     string
		wantText   string // Error() suffix after the status
		maxLen     int
	}{
		{"errors with null field", `{"errors":[{"field":null,"message":"authorization required"}]}`,
			[]ErrorDetail{{"", "authorization required"}}, "", ": authorization required", 0},
		{"errors with field and id", `{"errors":[{"field":"date","message":"invalid"},{"field":"limit","message":"must be provided"}],"id":"abc-123"}`,
			[]ErrorDetail{{"date", "invalid"}, {"limit", "must be provided"}}, "abc-123", ": date: invalid; limit: must be provided (id abc-123)", 0},
		{"numeric id", `{"errors":[{"message":"x"}],"id":42}`, []ErrorDetail{{"", "x"}}, "42", ": x (id 42)", 0},
		{"legacy error", `{"error":"bad request"}`, []ErrorDetail{{"", "bad request"}}, "", ": bad request", 0},
		{"html", "<!DOCTYPE html><html><head><title>Bad</title><style>p{}</style></head><body>\n  <h1>Gateway   error</h1></body></html>",
			nil, "", ": Bad Gateway error", 0},
		{"plain text", "service   down\n", nil, "", ": service down", 0},
		{"empty", "", nil, "", "", 0},
		{"json without errors", `{"message":"weird"}`, nil, "", `: {"message":"weird"}`, 0},
		{"huge html is bounded", long, nil, "", "", 300},
		{"invalid utf8", "\xff\xfe bad", nil, "", ": \uFFFD bad", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := newMocked(t, respond(400, tt.body))
			_, err := c.Scores(context.Background(), testYesterday, testYesterday)
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if len(apiErr.Errors) != len(tt.wantErrors) {
				t.Fatalf("Errors = %+v, want %+v", apiErr.Errors, tt.wantErrors)
			}
			for i := range tt.wantErrors {
				if apiErr.Errors[i] != tt.wantErrors[i] {
					t.Errorf("Errors[%d] = %+v, want %+v", i, apiErr.Errors[i], tt.wantErrors[i])
				}
			}
			if apiErr.ID != tt.wantID {
				t.Errorf("ID = %q, want %q", apiErr.ID, tt.wantID)
			}
			prefix := "GET /v3/engagementquality/scores: 400 Bad Request"
			if tt.maxLen > 0 {
				if len(err.Error()) > tt.maxLen || !strings.HasPrefix(err.Error(), prefix) {
					t.Errorf("Error() not bounded (%d bytes): %q", len(err.Error()), err.Error())
				}
				if len(apiErr.Body) > maxErrorBody {
					t.Errorf("Body kept %d bytes", len(apiErr.Body))
				}
				return
			}
			if want := prefix + tt.wantText; err.Error() != want {
				t.Errorf("Error() = %q\nwant      %q", err.Error(), want)
			}
		})
	}
}

func TestAPIErrorRate(t *testing.T) {
	t.Parallel()
	c, _ := newMocked(t, respond(429, `{"errors":[{"field":null,"message":"too many requests"}]}`,
		HeaderRateLimit, "600", HeaderRateRemaining, "0", HeaderRateReset, "1"),
		WithRetryPolicy(RetryPolicy{}))
	_, err := c.Pools(context.Background())
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v", err)
	}
	if apiErr.Rate.Limit != 600 || apiErr.Rate.Remaining != 0 || apiErr.Rate.Reset.IsZero() {
		t.Errorf("Rate = %+v", apiErr.Rate)
	}
	if apiErr.RetryAfter <= 0 {
		t.Errorf("RetryAfter = %v, want > 0", apiErr.RetryAfter)
	}
	if apiErr.Message() != "too many requests" {
		t.Errorf("Message() = %q", apiErr.Message())
	}
}

func TestValidationErrorMessage(t *testing.T) {
	t.Parallel()
	e := &ValidationError{Field: "from", Value: "2020-01-01", Reason: `"from" cannot be more than 90 days in the past`}
	if got, want := e.Error(), `invalid "from" (2020-01-01): "from" cannot be more than 90 days in the past`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func FuzzAPIError(f *testing.F) {
	for _, s := range []string{``, `{"errors":[{"field":null,"message":"x"}],"id":"1"}`, `{"error":"x"}`, `<html>`, `{"errors":[1,2]}`, `{"errors":null,"id":{}}`,
		`{"errors":[{"field":"\u0053G.fuzz-key","message":"Bearer SG.fuzz-key"}],"id":"SG.fuzz-key"}`, `<p>SG.fuzz-key</p>`} {
		f.Add(400, s)
	}
	f.Fuzz(func(t *testing.T, status int, body string) {
		resp := jsonResp(status, body)
		e := newAPIError("GET", "/v3/x", resp, "SG.fuzz-key")
		msg := e.Error()
		if len(msg) > 1200 {
			t.Errorf("Error() is %d bytes", len(msg))
		}
		_ = errors.Is(e, ErrNotFound)
		if all := msg + e.Body + e.ID + fmt.Sprint(e.Errors); strings.Contains(all, "SG.fuzz-key") {
			t.Errorf("key leaked: %q", all)
		}
		if len(e.Body) > maxErrorBody*3 {
			t.Errorf("Body is %d bytes", len(e.Body))
		}
		_ = http.StatusText(status)
	})
}
