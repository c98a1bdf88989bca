@assertions
Feature: assertions that cannot pass by accident, and nested one-line blocks
  Translated from scenarios/assertions-and-time.runbook: a burst of callers
  that each retry with the AWS SDKs' backoff, written on one line, and
  ordering comparisons on the burst's tally.

  Scenario: a burst of retrying callers, on one line
    Given the world "../scenarios/worlds/example.yaml"
    When 20 clients at once: I retry up to 30 times every 10 ms: I encrypt "x" with "alias/app"
    Then the response has "Succeeded" equal to "20"
    And the response has "Succeeded" greater than "0"
    And the response has "Succeeded" at least "20"
    And the response has "Succeeded" at most "20"
    And the response has "Succeeded" less than "21"
