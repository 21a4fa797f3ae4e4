package gen

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
)

// encoder writes events in the configured format.
type encoder struct {
	cfg      Config
	contacts []contact
	w        *bufio.Writer
	buf      []byte
	n        int64
	events   int64
	err      error
}

var clickURLs = []string{
	"https://shop.example.com/deals/today?utm_source=sendgrid&utm_medium=email&utm_campaign=",
	"https://www.example.com/blog/2026/how-we-ship-faster?utm_source=sendgrid&utm_campaign=",
	"https://www.example.com/account/preferences?ref=email&campaign=",
	"https://shop.example.com/cart?restore=1&utm_medium=email&utm_campaign=",
}

func (en *encoder) csvHeader() {
	line := "email,timestamp,event,sg_event_id,sg_message_id,type,bounce_classification,sg_machine_open,category,asm_group_id,url,useragent,ip\n"
	en.write([]byte(line))
}

func (en *encoder) write(b []byte) {
	if en.err != nil {
		return
	}
	n, err := en.w.Write(b)
	en.n += int64(n)
	en.err = err
}

// batch writes one line: an event (NDJSON, CSV) or an array of events
// (webhook).
func (en *encoder) batch(b []ev) error {
	buf := en.buf[:0]
	switch en.cfg.Format {
	case Webhook:
		buf = append(buf, '[')
		for i, e := range b {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = en.json(buf, e)
		}
		buf = append(buf, ']', '\n')
	case CSV:
		for _, e := range b {
			buf = en.csv(buf, e)
		}
	default:
		for _, e := range b {
			buf = en.json(buf, e)
			buf = append(buf, '\n')
		}
	}
	en.events += int64(len(b))
	en.buf = buf
	en.write(buf)
	return en.err
}

// ids derives the message and event ids of e.
func (en *encoder) ids(e ev) (msgID, eventID string) {
	var raw [16]byte
	binary.LittleEndian.PutUint32(raw[0:], uint32(e.c))
	binary.LittleEndian.PutUint32(raw[4:], uint32(e.send))
	binary.LittleEndian.PutUint32(raw[8:], e.seq^0x5bd1e995)
	raw[12] = byte(e.list)
	raw[13] = byte(len(e.kind))
	msgID = fmt.Sprintf("%08x%04x.filterdrecv-%d.%d-%x.0", uint32(e.c)*2654435761, uint32(e.send), e.list, e.c%97, uint64(e.c)<<8|uint64(e.send))
	eventID = base64.RawURLEncoding.EncodeToString(raw[:])
	return msgID, eventID
}

func (en *encoder) json(buf []byte, e ev) []byte {
	c := &en.contacts[e.c]
	l := lists[e.list]
	msgID, eventID := en.ids(e)
	buf = append(buf, `{"email":"`...)
	buf = append(buf, c.email...)
	buf = append(buf, `","timestamp":`...)
	buf = strconv.AppendInt(buf, e.ts, 10)
	buf = append(buf, `,"smtp-id":"<`...)
	buf = append(buf, msgID[:12]...)
	buf = append(buf, `@ismtpd0042p1iad2.sendgrid.net>","event":"`...)
	buf = append(buf, e.kind...)
	buf = append(buf, `","category":["`...)
	buf = append(buf, l.category...)
	buf = append(buf, `","`...)
	buf = append(buf, l.name...)
	buf = append(buf, `"],"sg_event_id":"`...)
	buf = append(buf, eventID...)
	buf = append(buf, `","sg_message_id":"`...)
	buf = append(buf, msgID...)
	buf = append(buf, '"')
	switch e.kind {
	case "open", "click":
		buf = append(buf, `,"useragent":"`...)
		if e.machine {
			buf = append(buf, machineUA...)
		} else {
			buf = append(buf, userAgents[e.ua]...)
		}
		buf = append(buf, `","ip":"`...)
		buf = appendIP(buf, uint32(e.c)*7919+uint32(e.ua))
		buf = append(buf, '"')
		if e.kind == "open" {
			buf = append(buf, `,"sg_machine_open":`...)
			buf = strconv.AppendBool(buf, e.machine)
		} else {
			buf = append(buf, `,"url":"`...)
			buf = append(buf, clickURLs[e.url]...)
			buf = append(buf, l.name...)
			buf = append(buf, `","url_offset":{"index":`...)
			buf = strconv.AppendInt(buf, int64(e.url), 10)
			buf = append(buf, `,"type":"html"}`...)
		}
	case "delivered":
		buf = append(buf, `,"response":"250 2.0.0 OK  `...)
		buf = strconv.AppendInt(buf, e.ts, 10)
		buf = append(buf, ` d4si1234567qkb.123 - gsmtp","tls":1,"ip":"168.245.`...)
		buf = strconv.AppendInt(buf, int64(e.c%200), 10)
		buf = append(buf, `.`...)
		buf = strconv.AppendInt(buf, int64(e.list)+10, 10)
		buf = append(buf, '"')
	case "bounce":
		buf = append(buf, `,"type":"`...)
		buf = append(buf, e.btype...)
		buf = append(buf, `","bounce_classification":"`...)
		buf = append(buf, e.class...)
		buf = append(buf, `","reason":"550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient\u0027s email address for typos.","status":"5.1.1","tls":1`...)
	case "deferred":
		buf = append(buf, `,"response":"400 try again later","attempt":"2"`...)
	case "dropped":
		buf = append(buf, `,"reason":"Bounced Address","status":"5.0.0"`...)
	case "unsubscribe", "group_unsubscribe", "group_resubscribe", "spamreport":
		buf = append(buf, `,"useragent":"`...)
		buf = append(buf, userAgents[0]...)
		buf = append(buf, `","ip":"203.0.113.`...)
		buf = strconv.AppendInt(buf, int64(e.c%250), 10)
		buf = append(buf, '"')
	}
	buf = append(buf, `,"asm_group_id":`...)
	buf = strconv.AppendInt(buf, int64(l.asmGroup), 10)
	buf = append(buf, `,"list_id":"`...)
	buf = append(buf, l.name...)
	buf = append(buf, `","campaign_id":"`...)
	buf = append(buf, l.name...)
	buf = append(buf, '-')
	buf = strconv.AppendInt(buf, int64(e.send), 10)
	buf = append(buf, `","user_tier":"`...)
	buf = append(buf, tiers[e.c%4]...)
	buf = append(buf, `","meta":{"ab_variant":"`...)
	buf = append(buf, "ab"[e.send%2])
	buf = append(buf, `","tags":["spring","vip"],"score":0.5,"ok":true,"none":null}}`...)
	return buf
}

func appendIP(buf []byte, x uint32) []byte {
	buf = strconv.AppendInt(buf, int64(x>>24%223+1), 10)
	for i := 2; i >= 0; i-- {
		buf = append(buf, '.')
		buf = strconv.AppendInt(buf, int64(x>>(8*i)&0xff), 10)
	}
	return buf
}

func (en *encoder) csv(buf []byte, e ev) []byte {
	c := &en.contacts[e.c]
	l := lists[e.list]
	msgID, eventID := en.ids(e)
	buf = append(buf, c.email...)
	buf = append(buf, ',')
	buf = strconv.AppendInt(buf, e.ts, 10)
	buf = append(buf, ',')
	buf = append(buf, e.kind...)
	buf = append(buf, ',')
	buf = append(buf, eventID...)
	buf = append(buf, ',')
	buf = append(buf, msgID...)
	buf = append(buf, ',')
	buf = append(buf, e.btype...)
	buf = append(buf, ',')
	buf = append(buf, e.class...)
	buf = append(buf, ',')
	if e.kind == "open" {
		buf = strconv.AppendBool(buf, e.machine)
	}
	buf = append(buf, `,"`...)
	buf = append(buf, l.category...)
	buf = append(buf, ',')
	buf = append(buf, l.name...)
	buf = append(buf, `",`...)
	buf = strconv.AppendInt(buf, int64(l.asmGroup), 10)
	buf = append(buf, ',')
	if e.kind == "click" {
		buf = append(buf, clickURLs[e.url]...)
		buf = append(buf, l.name...)
	}
	buf = append(buf, ',')
	if e.kind == "open" || e.kind == "click" {
		buf = append(buf, '"')
		if e.machine {
			buf = append(buf, machineUA...)
		} else {
			buf = append(buf, userAgents[e.ua]...)
		}
		buf = append(buf, '"')
	}
	buf = append(buf, ',')
	buf = appendIP(buf, uint32(e.c)*7919)
	buf = append(buf, '\n')
	return buf
}
