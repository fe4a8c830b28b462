// Command kstatus prints what sigs.k8s.io/cli-utils' kstatus (the library
// Flux's `wait`/`healthChecks` and `kubectl`-style tools judge readiness by)
// computes for one object:
//
//	kstatus < object.json  ->  {"status": "Current", "message": "..."}
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

func main() {
	input, err := io.ReadAll(os.Stdin)
	check(err)
	// Decoded as the API machinery does (integers as int64), as kstatus expects.
	var obj unstructured.Unstructured
	check(obj.UnmarshalJSON(input))
	result, err := status.Compute(&obj)
	check(err)
	out, err := json.Marshal(map[string]string{"status": result.Status.String(), "message": result.Message})
	check(err)
	fmt.Println(string(out))
}

func check(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "kstatus: %v\n", err)
		os.Exit(1)
	}
}
