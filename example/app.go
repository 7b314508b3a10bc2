// Package example is the application `make run` serves: a calculator and a
// chat room, small enough to read in a minute and wide enough to show
// calls, errors, events and broadcast over every transport.
package example

import (
	"context"
	"strings"

	jstp "github.com/jstp-go/jstp/core"
)

// AppName is the name and version the example application is served as.
const AppName = "example@1.0.0"

// NewApp builds the example application. say broadcasts through
// broadcast (the serving server's Broadcast), so every client connected to
// that server hears chat.message.
func NewApp(broadcast func(iface, event string, args ...any) error) *jstp.Application {
	app := jstp.MustNewApplication(AppName)
	must(app.Handle("calculator", "add", func(a, b float64) float64 { return a + b }))
	must(app.Handle("calculator", "sum", func(nums ...float64) float64 {
		total := 0.0
		for _, n := range nums {
			total += n
		}
		return total
	}))
	must(app.Handle("calculator", "divide", func(a, b float64) (float64, error) {
		if b == 0 {
			return 0, jstp.NewError(100, "division by zero")
		}
		return a / b, nil
	}))
	must(app.Handle("chat", "say", func(ctx context.Context, conn *jstp.Connection, text string) (string, error) {
		from := conn.Username()
		if from == "" {
			from = "anonymous"
		}
		text = strings.TrimSpace(text)
		if text == "" {
			return "", jstp.NewError(101, "empty message")
		}
		return "delivered", broadcast("chat", "message", from, text)
	}))
	return app
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
