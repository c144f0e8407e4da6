package main

import "github.com/spf13/cobra"

// rulesKafkaCommands are the rules subcommands that talk to the controls topic.
func rulesKafkaCommands() []*cobra.Command { return nil }
