@R1
Feature: R1. Unavailable KMS keys
  docs/runbooks.md, R1 (translated from scenarios/r1-unavailable-keys.runbook).
  A key in a CloudHSM key store is normally Enabled (or Disabled, or
  PendingDeletion, like any key). While its store is DISCONNECTED, on purpose
  or because a reconnect failed, the key reads Unavailable: DescribeKey and the
  management calls still work, no cryptographic operation does. A key pending
  deletion stays PendingDeletion, so its deletion can be cancelled without
  reconnecting. Reconnecting restores each key's previous state, and
  EnableKey / DisableKey on an Unavailable key take effect only then.

  Background:
    Given the world "../scenarios/worlds/example.yaml"

  Scenario: keys of a connected store are Enabled, Disabled or PendingDeletion like any key
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And the KeyState of "alias/app" is Enabled
    And the key "alias/app" has "Enabled" equal to "true"
    And the key "alias/app" has "Origin" equal to "AWS_CLOUDHSM"
    And the key "alias/app" has "CustomKeyStoreId" equal to "cks-1234567890abcdef0"
    And the key "alias/app" has "CloudHsmClusterId" equal to "cluster-1a23b4cdefg"
    And the key "alias/app" has no "DeletionDate"

    # A second key, disabled by its owner: Disabled, as in any key store.
    When I call CreateKey with:
      | CustomKeyStoreId | $ExampleKeyStore |
      | Origin           | AWS_CLOUDHSM     |
    And I remember "KeyMetadata.KeyId" of the response as "disabled"
    And I call DisableKey with:
      | KeyId | $disabled |
    Then it succeeds
    And the KeyState of "$disabled" is Disabled
    And the key "$disabled" has "Enabled" equal to "false"

    # A third key, scheduled for deletion: PendingDeletion, with its date.
    When I call CreateKey with:
      | CustomKeyStoreId | $ExampleKeyStore |
      | Origin           | AWS_CLOUDHSM     |
    And I remember "KeyMetadata.KeyId" of the response as "doomed"
    And I call ScheduleKeyDeletion with:
      | KeyId               | $doomed |
      | PendingWindowInDays | 30      |
    Then the response has "KeyState" equal to "PendingDeletion"
    And the KeyState of "$doomed" is PendingDeletion
    And the key "$doomed" has "Enabled" equal to "false"
    And the key "$doomed" has "DeletionDate"

  Scenario: a disconnected store's keys are Unavailable: DescribeKey and management calls work, crypto does not
    When I encrypt "made while connected" with "alias/app" as "before"
    And I disconnect the custom key store "ExampleKeyStore"
    Then it succeeds
    And the ConnectionState of "ExampleKeyStore" is DISCONNECTED

    # DescribeKey works, by alias, id and ARN alike, and says Unavailable.
    When I call DescribeKey with:
      | KeyId | alias/app |
    Then it succeeds
    And the response has "KeyMetadata.KeyState" equal to "Unavailable"
    And the response has "KeyMetadata.Enabled" equal to "false"
    And the response has "KeyMetadata.KeyId" equal to "1234abcd-12ab-34cd-56ef-1234567890ab"
    And the KeyState of "1234abcd-12ab-34cd-56ef-1234567890ab" is Unavailable
    And the KeyState of "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" is Unavailable

    # Management calls that do not touch the cluster still work.
    When I call ListKeys
    Then it succeeds
    And the response has "Keys[0].KeyId" equal to "1234abcd-12ab-34cd-56ef-1234567890ab"
    When I call CreateAlias with:
      | AliasName   | alias/app-standby                    |
      | TargetKeyId | 1234abcd-12ab-34cd-56ef-1234567890ab |
    Then it succeeds
    When I call ListAliases with:
      | KeyId | 1234abcd-12ab-34cd-56ef-1234567890ab |
    Then it succeeds
    And the response has "Aliases[0].AliasName" equal to "alias/app"
    And the response has "Aliases[1].AliasName" equal to "alias/app-standby"
    When I call DeleteAlias with:
      | AliasName | alias/app-standby |
    Then it succeeds

    # No cryptographic operation does: the key is unavailable.
    When I encrypt "x" with "alias/app"
    Then it fails with KMSInvalidStateException "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab is unavailable."
    When I decrypt "$before"
    Then it fails with KMSInvalidStateException "is unavailable."
    When I call GenerateDataKey with:
      | KeyId   | alias/app |
      | KeySpec | AES_256   |
    Then it fails with KMSInvalidStateException "is unavailable."

    # Reconnecting brings the key back, and what it encrypted before.
    When I reconnect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And the KeyState of "alias/app" is Enabled
    And "$before" decrypts to "made while connected"

  @R3
  Scenario: a reconnect that failed leaves the keys Unavailable too
    When I disconnect the custom key store "ExampleKeyStore"
    And the network to cluster "cluster-1a23b4cdefg" is blocked
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is FAILED
    And the ConnectionErrorCode of "ExampleKeyStore" is NETWORK_ERRORS
    And the KeyState of "alias/app" is Unavailable
    And the key "alias/app" has "Enabled" equal to "false"
    When I call DescribeKey with:
      | KeyId | alias/app |
    Then it succeeds
    When I encrypt "x" with "alias/app"
    Then it fails with KMSInvalidStateException "is unavailable."

    # Fix the path, disconnect (a FAILED store cannot be connected), connect.
    When the network to cluster "cluster-1a23b4cdefg" is restored
    And I disconnect the custom key store "ExampleKeyStore"
    And I reconnect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And the KeyState of "alias/app" is Enabled

  Scenario: a key scheduled for deletion while disconnected stays PendingDeletion, through the reconnect
    When I disconnect the custom key store "ExampleKeyStore"
    Then the KeyState of "alias/app" is Unavailable
    # ScheduleKeyDeletion is a management call: it works on an Unavailable key.
    When I call ScheduleKeyDeletion with:
      | KeyId               | alias/app |
      | PendingWindowInDays | 7         |
    Then it succeeds
    And the response has "KeyId" equal to "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    And the response has "KeyState" equal to "PendingDeletion"
    And the response has "PendingWindowInDays" equal to "7"
    And the KeyState of "alias/app" is PendingDeletion
    And the key "alias/app" has "PendingDeletionWindowInDays" equal to "7"

    # Not Unavailable: PendingDeletion wins while the store stays disconnected.
    When I wait 1 day
    Then the ConnectionState of "ExampleKeyStore" is DISCONNECTED
    And the KeyState of "alias/app" is PendingDeletion

    # A key still pending deletion stays PendingDeletion after the reconnect.
    When I reconnect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And the KeyState of "alias/app" is PendingDeletion
    And encrypting with "alias/app" fails with KMSInvalidStateException "is pending deletion."

  Scenario: CancelKeyDeletion works without reconnecting
    # Scheduled while connected; the store is then disconnected.
    When I call ScheduleKeyDeletion with:
      | KeyId               | alias/app |
      | PendingWindowInDays | 30        |
    Then it succeeds
    When I disconnect the custom key store "ExampleKeyStore"
    Then the KeyState of "alias/app" is PendingDeletion

    # Cancelled with the store still DISCONNECTED.
    When I call CancelKeyDeletion with:
      | KeyId | alias/app |
    Then it succeeds
    And the response has "KeyId" equal to "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    And the ConnectionState of "ExampleKeyStore" is DISCONNECTED
    And the key "alias/app" has no "DeletionDate"
    # CancelKeyDeletion leaves a key Disabled; while disconnected that reads
    # Unavailable (docs/fidelity.md I5).
    And the KeyState of "alias/app" is Unavailable
    # Cancelling twice: the key is no longer pending deletion.
    When I call CancelKeyDeletion with:
      | KeyId | alias/app |
    Then it fails with KMSInvalidStateException "is not pending deletion."

    When I reconnect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the KeyState of "alias/app" is Disabled
    When I call EnableKey with:
      | KeyId | alias/app |
    Then it succeeds
    And the KeyState of "alias/app" is Enabled

  Scenario: reconnecting restores each key's previous state
    When I call CreateKey with:
      | CustomKeyStoreId | $ExampleKeyStore |
      | Origin           | AWS_CLOUDHSM     |
    And I remember "KeyMetadata.KeyId" of the response as "disabled"
    And I call DisableKey with:
      | KeyId | $disabled |
    Then it succeeds
    When I call CreateKey with:
      | CustomKeyStoreId | $ExampleKeyStore |
      | Origin           | AWS_CLOUDHSM     |
    And I remember "KeyMetadata.KeyId" of the response as "doomed"
    And I call ScheduleKeyDeletion with:
      | KeyId               | $doomed |
      | PendingWindowInDays | 7       |
    Then it succeeds

    When I disconnect the custom key store "ExampleKeyStore"
    Then the KeyState of "alias/app" is Unavailable
    And the KeyState of "$disabled" is Unavailable
    And the KeyState of "$doomed" is PendingDeletion

    When I reconnect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And the KeyState of "alias/app" is Enabled
    And the key "alias/app" has "Enabled" equal to "true"
    And the KeyState of "$disabled" is Disabled
    And the key "$disabled" has "Enabled" equal to "false"
    And the KeyState of "$doomed" is PendingDeletion
    When I encrypt "x" with "alias/app"
    Then it succeeds
    And encrypting with "$disabled" fails with DisabledException "is disabled."

  Scenario Outline: <request> on an Unavailable key takes effect when the store reconnects
    # First the opposite request, while the store is connected.
    When I call <before> with:
      | KeyId | alias/app |
    Then it succeeds
    When I disconnect the custom key store "ExampleKeyStore"
    And I call <request> with:
      | KeyId | alias/app |
    Then it succeeds
    # Accepted, but DescribeKey does not change.
    And the KeyState of "alias/app" is Unavailable

    When I reconnect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And the KeyState of "alias/app" is <state>
    And the key "alias/app" has "Enabled" equal to "<enabled>"

    Examples:
      | before     | request    | state    | enabled |
      | EnableKey  | DisableKey | Disabled | false   |
      | DisableKey | EnableKey  | Enabled  | true    |
