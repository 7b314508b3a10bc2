package mdsf_test

import (
	"fmt"

	"github.com/jstp-go/jstp/core/mdsf"
)

func ExampleParse() {
	v, err := mdsf.Parse([]byte(`{call:[1,'auth'],signIn:['user', /* secret */ 'pass']}`))
	if err != nil {
		panic(err)
	}
	msg := v.(mdsf.Object)
	fmt.Println(msg[0].Key, msg[0].Value)
	fmt.Println(msg[1].Key, msg[1].Value)
	// Output:
	// call [1 auth]
	// signIn [user pass]
}

func ExampleParse_error() {
	_, err := mdsf.ParseString(`{a :1}`)
	fmt.Println(err)
	// Output: mdsf: unexpected ' ', expected ':' right after the key at offset 2
}

func ExampleStringify() {
	s, _ := mdsf.Stringify(mdsf.Object{
		{Key: "callback", Value: []any{1}},
		{Key: "ok", Value: []any{"it's", 0.1, mdsf.Undefined, nil}},
		{Key: "skipped", Value: mdsf.Undefined},
		{Key: "not-bare", Value: 1e21},
	})
	fmt.Println(s)
	// Output: {callback:[1],ok:['it\'s',0.1,,null],'not-bare':1e+21}
}

func ExampleMarshal() {
	type user struct {
		Name  string `json:"name"`
		Age   int    `mdsf:"age,omitempty"`
		Token []byte `mdsf:"token"`
	}
	b, _ := mdsf.Marshal(user{Name: "Ann", Token: []byte{1, 2, 3}})
	fmt.Println(string(b))
	// Output: {name:'Ann',token:'AQID'}
}

func ExampleUnmarshal() {
	var args struct {
		Name  string
		Count int `mdsf:"count"`
	}
	err := mdsf.Unmarshal([]byte(`{name:'x',count:0x10}`), &args)
	fmt.Println(args.Name, args.Count, err)
	// Output: x 16 <nil>
}

func ExampleDecode() {
	v, _ := mdsf.ParseString(`['a', 2]`)
	args := v.([]any)
	var name string
	var n int
	fmt.Println(mdsf.Decode(args[0], &name), mdsf.Decode(args[1], &n), name, n)
	fmt.Println(mdsf.Decode(args[0], &n))
	// Output:
	// <nil> <nil> a 2
	// mdsf: cannot decode string into int
}

func ExampleAppendNumber() {
	for _, f := range []float64{1e21, 1e-7, 0.1 + j2(), 5e-324, 123456789012345680000} {
		fmt.Println(string(mdsf.AppendNumber(nil, f)))
	}
	// Output:
	// 1e+21
	// 1e-7
	// 0.30000000000000004
	// 5e-324
	// 123456789012345680000
}

// j2 keeps 0.1+0.2 from being folded into an exact constant.
func j2() float64 { return 0.2 }

func ExampleSplitter() {
	var s mdsf.Splitter
	for _, chunk := range []string{"{ping:[1]}\x00{pi", "ng:[2]}\x00{pong"} {
		_ = s.Feed([]byte(chunk), func(msg []byte) error {
			fmt.Printf("message %s\n", msg)
			return nil
		})
	}
	fmt.Println("buffered", s.Buffered())
	// Output:
	// message {ping:[1]}
	// message {ping:[2]}
	// buffered 5
}
