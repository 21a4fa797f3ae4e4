package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestPools(t *testing.T) {
	t.Parallel()
	c, rec := newMocked(t, func(req *http.Request) (*http.Response, error) {
		switch p := req.URL.EscapedPath(); {
		case req.Method == "GET" && p == "/v3/ips/pools":
			return jsonResp(200, `[{"name":"hot pool"},{"name":"warm"}]`), nil
		case req.Method == "GET" && p == "/v3/ips/pools/hot%20pool":
			return jsonResp(200, `{"pool_name":"hot pool","ips":[{"ip":"10.0.0.1","start_date":1700000000,"warmup":true},{"ip":"10.0.0.2"}]}`), nil
		case req.Method == "GET" && p == "/v3/ips/pools/legacy":
			return jsonResp(200, `{"name":"legacy","ips":["10.0.0.3","10.0.0.4"]}`), nil
		case req.Method == "GET" && p == "/v3/ips/pools/empty":
			return jsonResp(200, `{"pool_name":"empty","ips":null}`), nil
		case req.Method == "GET" && p == "/v3/ips/pools/a%2Fb":
			return jsonResp(404, `{"errors":[{"field":null,"message":"pool not found"}]}`), nil
		case req.Method == "POST" && p == "/v3/ips/pools":
			return jsonResp(200, `{"name":"new pool"}`), nil
		case req.Method == "POST" && p == "/v3/ips/pools/hot%20pool/ips":
			return jsonResp(201, `{"ip":"10.0.0.9","pools":["hot pool"],"start_date":1,"warmup":false}`), nil
		case req.Method == "DELETE" && p == "/v3/ips/pools/hot%20pool/ips/10.0.0.9":
			return jsonResp(204, ``), nil
		case req.Method == "PUT" && p == "/v3/subusers/jane%20doe/ips":
			return jsonResp(200, `{"ips":["10.0.0.1","10.0.0.2"]}`), nil
		}
		return jsonResp(418, `{"error":"unexpected `+req.Method+` `+req.URL.EscapedPath()+`"}`), nil
	})
	ctx := context.Background()

	pools, err := c.Pools(ctx)
	if err != nil || !reflect.DeepEqual(pools, []Pool{{"hot pool"}, {"warm"}}) {
		t.Errorf("Pools() = %v, %v", pools, err)
	}
	tests := []struct {
		name string
		want *PoolDetail
	}{
		{"hot pool", &PoolDetail{Name: "hot pool", IPs: []PoolIP{{IP: "10.0.0.1", StartDate: 1700000000, Warmup: true}, {IP: "10.0.0.2"}}}},
		{"legacy", &PoolDetail{Name: "legacy", IPs: []PoolIP{{IP: "10.0.0.3"}, {IP: "10.0.0.4"}}}},
		{"empty", &PoolDetail{Name: "empty"}},
	}
	for _, tt := range tests {
		got, err := c.Pool(ctx, tt.name)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Pool(%q) = %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
	if _, err := c.Pool(ctx, "a/b"); err == nil || !strings.Contains(err.Error(), "/v3/ips/pools/a%2Fb: 404") {
		t.Errorf("Pool(a/b) err = %v", err)
	}
	p, err := c.CreatePool(ctx, "new pool")
	if err != nil || p.Name != "new pool" {
		t.Errorf("CreatePool = %v, %v", p, err)
	}
	if err := c.AddIPToPool(ctx, "hot pool", "10.0.0.9"); err != nil {
		t.Errorf("AddIPToPool: %v", err)
	}
	if err := c.RemoveIPFromPool(ctx, "hot pool", "10.0.0.9"); err != nil {
		t.Errorf("RemoveIPFromPool: %v", err)
	}
	ips, err := c.AssignSubuserIPs(ctx, "jane doe", []string{"10.0.0.1", "10.0.0.2"})
	if err != nil || !reflect.DeepEqual(ips, []string{"10.0.0.1", "10.0.0.2"}) {
		t.Errorf("AssignSubuserIPs = %v, %v", ips, err)
	}

	bodies := map[string]string{}
	for _, r := range rec.all() {
		if r.Method != "GET" {
			bodies[r.Method+" "+r.Path] = r.Body
			if ct := r.Header.Get("Content-Type"); r.Body != "" && ct != "application/json" {
				t.Errorf("%s %s Content-Type = %q", r.Method, r.Path, ct)
			}
		}
	}
	want := map[string]string{
		"POST /v3/ips/pools":                           `{"name":"new pool"}`,
		"POST /v3/ips/pools/hot%20pool/ips":            `{"ip":"10.0.0.9"}`,
		"DELETE /v3/ips/pools/hot%20pool/ips/10.0.0.9": ``,
		"PUT /v3/subusers/jane%20doe/ips":              `["10.0.0.1","10.0.0.2"]`,
	}
	if !reflect.DeepEqual(bodies, want) {
		t.Errorf("bodies = %#v\nwant %#v", bodies, want)
	}
}

// offsetServer serves n items as offset pages; item(i) renders item i.
func offsetServer(n int, item func(i int) string) func(req *http.Request) (*http.Response, error) {
	return func(req *http.Request) (*http.Response, error) {
		q := req.URL.Query()
		limit, _ := strconv.Atoi(q.Get("limit"))
		offset, _ := strconv.Atoi(q.Get("offset"))
		var parts []string
		for i := offset; i < min(offset+limit, n); i++ {
			parts = append(parts, item(i))
		}
		return jsonResp(200, "["+strings.Join(parts, ",")+"]"), nil
	}
}

func TestSubusersIterator(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		total     int
		opts      *SubusersOptions
		wantCalls int
		wantQuery map[string]string
	}{
		{"exact multiple of page", 200, nil, 3, map[string]string{"limit": "100"}},
		{"short last page", 250, nil, 3, map[string]string{"limit": "100"}},
		{"none", 0, nil, 1, map[string]string{"limit": "100", "offset": "0"}},
		{"small pages with region", 5, &SubusersOptions{Limit: 2, Region: "eu"}, 3, map[string]string{"limit": "2", "region": "eu", "include_region": "true"}},
		{"username filter", 1, &SubusersOptions{Username: "jdoe"}, 1, map[string]string{"username": "jdoe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, rec := newMocked(t, offsetServer(tt.total, func(i int) string {
				return fmt.Sprintf(`{"id":%d,"username":"user%d","email":"u%d@example.com","disabled":%t,"region":"eu"}`, i+1, i, i, i%3 == 0)
			}))
			var got []Subuser
			for s, err := range c.Subusers(context.Background(), tt.opts) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, s)
			}
			if len(got) != tt.total || rec.count() != tt.wantCalls {
				t.Errorf("%d subusers in %d calls, want %d in %d", len(got), rec.count(), tt.total, tt.wantCalls)
			}
			for i, s := range got {
				if s.ID != int64(i+1) || s.Username != "user"+strconv.Itoa(i) || s.Disabled != (i%3 == 0) {
					t.Fatalf("subuser %d = %+v", i, s)
				}
			}
			for i, r := range rec.all() {
				for k, v := range tt.wantQuery {
					if k == "offset" {
						continue
					}
					if r.Query.Get(k) != v {
						t.Errorf("request %d %s = %q, want %q", i, k, r.Query.Get(k), v)
					}
				}
				limit, _ := strconv.Atoi(r.Query.Get("limit"))
				if off := r.Query.Get("offset"); off != strconv.Itoa(i*limit) {
					t.Errorf("request %d offset = %s", i, off)
				}
			}
		})
	}
}

func TestIPsIterator(t *testing.T) {
	t.Parallel()
	c, rec := newMocked(t, offsetServer(1203, func(i int) string {
		b, _ := json.Marshal(IP{IP: fmt.Sprintf("10.0.%d.%d", i/256, i%256), Subusers: []string{"u"}, Pools: []string{"p"}, Warmup: i%2 == 0, StartDate: 1, AssignedAt: 2})
		return string(b)
	}))
	n := 0
	for ip, err := range c.IPs(context.Background(), &IPsOptions{Subuser: "u"}) {
		if err != nil {
			t.Fatal(err)
		}
		if ip.IP == "" || len(ip.Pools) != 1 || ip.Subusers[0] != "u" {
			t.Fatalf("ip = %+v", ip)
		}
		n++
		if n == 1100 {
			break
		}
	}
	if n != 1100 || rec.count() != 3 {
		t.Errorf("%d IPs in %d calls", n, rec.count())
	}
	for _, r := range rec.all() {
		if r.Query.Get("limit") != "500" || r.Query.Get("subuser") != "u" {
			t.Errorf("query = %v", r.Query)
		}
	}
	// Page call: explicit small page.
	page, err := c.IPsPage(context.Background(), &IPsOptions{Limit: 10, Offset: 1200})
	if err != nil || len(page) != 3 {
		t.Errorf("IPsPage = %d, %v", len(page), err)
	}
}
