@aws-kms
Feature: AWS_KMS keys beside a CloudHSM key store
  docs/fidelity.md F14 (translated from scenarios/aws-kms-keys.runbook).
  The drill's point: when a CloudHSM key store is disconnected, only the
  keys in that store fail. A key whose material KMS keeps itself (Origin
  AWS_KMS, what CreateKey makes without arguments) has no store to lose: it
  keeps encrypting and decrypting, and is managed (tags, description,
  aliases) the same way as a store key, which stays manageable while
  Unavailable (docs/fidelity.md F15).

  Scenario: an AWS_KMS key keeps working while the store is disconnected; the store key does not
    Given the world:
      """
      seed: 1
      account: "111122223333"
      region: us-west-2
      clusters:
        - id: cluster-1a23b4cdefg
      custom_key_stores:
        - id: cks-1234567890abcdef0
          name: ExampleKeyStore
          connected: true
      keys:
        - id: 1234abcd-12ab-34cd-56ef-1234567890ab
          store: ExampleKeyStore
          aliases: [alias/app]
        - id: 0a1b2c3d-4e5f-4a6b-8c9d-0e1f2a3b4c5d
          origin: AWS_KMS
          description: "KMS keeps this key's material"
          aliases: [alias/fallback]
      """
    Then the key "alias/fallback" has "Origin" equal to "AWS_KMS"
    And the key "alias/fallback" has no "CustomKeyStoreId"
    And the key "alias/app" has "Origin" equal to "AWS_CLOUDHSM"

    # CreateKey without arguments makes another one.
    When I call CreateKey
    And I remember "KeyMetadata.KeyId" of the response as "spare"
    Then the key "$spare" has "Origin" equal to "AWS_KMS"
    And the KeyState of "$spare" is Enabled

    When I encrypt "before the incident" with "alias/fallback" as "before"
    And I disconnect the custom key store "ExampleKeyStore"
    And pending work settles
    Then the ConnectionState of "ExampleKeyStore" is DISCONNECTED

    # Only the store's key is Unavailable.
    And the KeyState of "alias/app" is Unavailable
    And the KeyState of "alias/fallback" is Enabled
    And encrypting with "alias/app" fails with KMSInvalidStateException "is unavailable."
    When I encrypt "during the incident" with "alias/fallback" as "during"
    Then "$before" decrypts to "before the incident"
    And "$during" decrypts to "during the incident"
    When I call GenerateDataKey with:
      | KeyId   | $spare  |
      | KeySpec | AES_256 |
    Then it succeeds
    # Randomness from the store's cluster needs the store.
    When I call GenerateRandom with:
      | NumberOfBytes    | 16               |
      | CustomKeyStoreId | $ExampleKeyStore |
    Then it fails with CustomKeyStoreInvalidStateException

    # Reconnecting brings the store key back; the AWS_KMS key never left.
    When I connect the custom key store "ExampleKeyStore"
    And pending work settles
    Then the KeyState of "alias/app" is Enabled
    And the KeyState of "alias/fallback" is Enabled

  Scenario: tags, descriptions and aliases of both origins, while the store is disconnected
    Given the world "../scenarios/worlds/example.yaml"
    When I call CreateKey with:
      """
      Description: fallback
      Tags: [{ TagKey: team, TagValue: drill }]
      """
    And I remember "KeyMetadata.KeyId" of the response as "fallback"
    And I disconnect the custom key store "ExampleKeyStore"
    And pending work settles
    Then the ConnectionState of "ExampleKeyStore" is DISCONNECTED

    # A store key is managed while Unavailable.
    When I tag the key "alias/app" with:
      | incident | dec-2026 |
    Then it succeeds
    When I call ListResourceTags with:
      | KeyId | alias/app |
    Then the response has "Tags[0].TagKey" equal to "incident"
    When I call UpdateKeyDescription with:
      """
      KeyId: alias/app
      Description: "unavailable, not lost"
      """
    Then it succeeds
    And the key "alias/app" has "Description" equal to the text "unavailable, not lost"

    # The application's alias moves to the AWS_KMS key.
    When I call UpdateAlias with:
      | AliasName   | alias/app |
      | TargetKeyId | $fallback |
    Then it succeeds
    When I encrypt "served by the fallback" with "alias/app" as "served"
    Then "$served" decrypts to "served by the fallback"
    When I call ListResourceTags with:
      | KeyId | alias/app |
    Then the response has "Tags[0].TagKey" equal to "team"
    And the response has "Tags[0].TagValue" equal to "drill"

    # Reserved tag keys are refused, for either origin.
    When I call TagResource with:
      """
      KeyId: $fallback
      Tags: [{ TagKey: "aws:owner", TagValue: me }]
      """
    Then it fails with TagException
    When I call UntagResource with:
      | KeyId   | $fallback |
      | TagKeys | [team]    |
    Then it succeeds
    When I call ListResourceTags with:
      | KeyId | $fallback |
    Then the response has no "Tags[0]"
