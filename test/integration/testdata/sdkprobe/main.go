// Command sdkprobe runs inside a build: with nothing but the environment
// the runner gives the build (container credentials, AWS_ENDPOINT_URL,
// AWS_REGION), the AWS SDK for Go v2's default configuration must reach
// the runner as the build's role. It prints the caller's ARN and the
// outcome of reading one parameter (its length, never its value).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Println("probe: config:", err)
		os.Exit(1)
	}
	me, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		fmt.Println("probe: identity:", err)
		os.Exit(1)
	}
	fmt.Println("probe: arn", aws.ToString(me.Arn))
	out, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(os.Args[1]), WithDecryption: aws.Bool(true)})
	if err != nil {
		fmt.Println("probe: get-parameter:", err)
		return
	}
	fmt.Println("probe: parameter length", len(aws.ToString(out.Parameter.Value)))
}
