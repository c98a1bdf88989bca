@R5
Feature: R5. KMS's failed logins and kmsuser's lockout
  docs/runbooks.md, R5; mirrors scenarios/r5-kms-failed-logins.runbook block by
  block. Whether KMS's own connects with a wrong kmsuser password count towards
  CloudHSM's five-try lockout: AWS does not say; by default they do
  (docs/fidelity.md I10), and a world can say they do not
  (kms_failed_logins_count: false, docs/fidelity.md I55).

  # Five connects with a wrong password are five failed logins; the sixth
  # finds kmsuser locked.
  @kmsuser
  Scenario: by default, KMS's wrong-password connects lock kmsuser
    Given the world "../scenarios/worlds/example.yaml"

    When I disconnect the custom key store "ExampleKeyStore"
    And I call UpdateCustomKeyStore with:
      | CustomKeyStoreId | $ExampleKeyStore |
      | KeyStorePassword | wrongPass99      |
    And I repeat 5 times:
      """
      When I connect the custom key store "ExampleKeyStore"
      And the connection attempt completes
      Then the ConnectionErrorCode of "ExampleKeyStore" is INVALID_CREDENTIALS
      When I disconnect the custom key store "ExampleKeyStore"
      """
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionErrorCode of "ExampleKeyStore" is USER_LOCKED_OUT

  @kmsuser
  Scenario: with kms_failed_logins_count false, KMS's wrong-password connects never lock kmsuser
    Given the world:
      """
      seed: 1
      account: "111122223333"
      region: us-west-2
      kms_failed_logins_count: false
      clusters:
        - id: cluster-1a23b4cdefg
      custom_key_stores:
        - id: cks-1234567890abcdef0
          name: ExampleKeyStore
          cluster: cluster-1a23b4cdefg
          connected: true
      keys:
        - id: 1234abcd-12ab-34cd-56ef-1234567890ab
          store: ExampleKeyStore
          aliases: [alias/app]
      """

    When I disconnect the custom key store "ExampleKeyStore"
    And I call UpdateCustomKeyStore with:
      | CustomKeyStoreId | $ExampleKeyStore |
      | KeyStorePassword | wrongPass99      |
    And I repeat 6 times:
      """
      When I connect the custom key store "ExampleKeyStore"
      And the connection attempt completes
      Then the ConnectionErrorCode of "ExampleKeyStore" is INVALID_CREDENTIALS
      When I disconnect the custom key store "ExampleKeyStore"
      """
    And I run "login --username admin --role admin --password adminPassword1" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "user list" on cluster "cluster-1a23b4cdefg" as "admin"
    Then the response has "data.users[1].locked" equal to the text "false"
