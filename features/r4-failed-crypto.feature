@R4
Feature: R4. Failed cryptographic operations
  docs/runbooks.md, R4 (translated from scenarios/r4-failed-crypto.runbook).
  With the store CONNECTED and the key Enabled, a cryptographic operation can
  fail with KMSInvalidStateException and one of two messages:
  - KMS cannot communicate with the cluster: possibly a transient network
    issue, so retry first; if it persists, check the network ACLs and security
    groups (blocked egress is the usual cause);
  - KMS cannot communicate with the cluster because kmsuser is locked out:
    disconnect, reset the kmsuser password, update the store's password,
    reconnect.
  Each message is asserted in full at least once, elsewhere by its distinctive
  start (note "your CloudHSM cluster" against "your AWS CloudHSM cluster").

  Background:
    Given the world "../scenarios/worlds/example.yaml"

  Scenario: the network message: a transient failure, retried, succeeds
    # The next two calls across the path fail, then it heals.
    When the network to cluster "cluster-1a23b4cdefg" drops the next 2 calls
    And I encrypt "x" with "alias/app"
    Then it fails with KMSInvalidStateException "KMS cannot communicate with your CloudHSM cluster. This might be a transient network issue. If you see this error repeatedly, verify that the Network ACLs and the security group rules for the VPC of your AWS CloudHSM cluster are correct."
    # Nothing in KMS looks wrong.
    And the ConnectionState of "ExampleKeyStore" is CONNECTED
    And the KeyState of "alias/app" is Enabled

    # Retry first: the second failure is absorbed, the third call succeeds.
    When I retry up to 5 times every 100 ms: I encrypt "retried" with "alias/app" as "ct"
    Then "$ct" decrypts to "retried"

  Scenario: the network message: retrying from the first failure
    When the network to cluster "cluster-1a23b4cdefg" drops the next 2 calls
    # Two attempts fail (100 ms, then 200 ms of back-off), the third succeeds.
    And I retry up to 5 times every 100 ms: I encrypt "x" with "alias/app"
    Then the response has "KeyId" equal to "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    # CloudTrail shows what the retry absorbed: a failed Encrypt, then the
    # newest one without an error.
    And the Encrypt event has:
      | errorCode | KMSInvalidStateException |
    And the Encrypt event has no "errorCode"
    And the ConnectionState of "ExampleKeyStore" is CONNECTED

  Scenario: the network message persists while egress is blocked; unblocking fixes it
    When I encrypt "made before the outage" with "alias/app" as "before"
    And the network to cluster "cluster-1a23b4cdefg" is blocked
    And I encrypt "x" with "alias/app"
    Then it fails with KMSInvalidStateException "KMS cannot communicate with your CloudHSM cluster. This might be a transient network issue. If you see this error repeatedly, verify that the Network ACLs and the security group rules for the VPC of your AWS CloudHSM cluster are correct."
    When I decrypt "$before"
    Then it fails with KMSInvalidStateException "KMS cannot communicate with your CloudHSM cluster"

    # Retrying does not help: every attempt, backed off, fails the same way.
    When I repeat 3 times:
      """
      When I wait 100 ms
      And I encrypt "x" with "alias/app"
      Then it fails with KMSInvalidStateException "KMS cannot communicate with your CloudHSM cluster"
      """
    # The store stays CONNECTED throughout.
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And "ExampleKeyStore" has no ConnectionErrorCode
    And the KeyState of "alias/app" is Enabled

    # The cause is the network path: restore it and the same calls succeed.
    When the network to cluster "cluster-1a23b4cdefg" is restored
    And I encrypt "x" with "alias/app"
    Then it succeeds
    And "$before" decrypts to "made before the outage"

  Scenario: the network message: a broken security group rule while connected
    # The cluster security group loses its TCP 2223-2225 rule.
    When the security group of cluster "cluster-1a23b4cdefg" is broken
    Then encrypting with "alias/app" fails with KMSInvalidStateException "KMS cannot communicate with your CloudHSM cluster"
    And the ConnectionState of "ExampleKeyStore" is CONNECTED
    When the security group of cluster "cluster-1a23b4cdefg" is mended
    And I encrypt "x" with "alias/app"
    Then it succeeds

  @R5
  Scenario: the locked-out message: kmsuser locked while connected, and the repair
    When I encrypt "made before the lockout" with "alias/app" as "before"

    # Five wrong passwords from a CLI session. KMS holds the kmsuser login, so
    # each login is refused, but the password is checked first and each wrong
    # one counts (docs/fidelity.md I11).
    When kmsuser is locked out of cluster "cluster-1a23b4cdefg"
    And I run "login --username admin --role admin --password adminPassword1" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "user list" on cluster "cluster-1a23b4cdefg" as "admin"
    Then the response has "data.users[1].username" equal to "kmsuser"
    And the response has "data.users[1].locked" equal to the text "true"
    When I run "logout" on cluster "cluster-1a23b4cdefg" as "admin"

    # Still CONNECTED, key Enabled, and crypto fails with the second message.
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And the KeyState of "alias/app" is Enabled
    When I encrypt "x" with "alias/app"
    Then it fails with KMSInvalidStateException "KMS cannot communicate with your AWS CloudHSM cluster because the kmsuser is locked out. If you see this error repeatedly, disconnect the AWS CloudHSM key store and reset the kmsuser account password. Update the kmsuser password for the custom key store and try the request again."
    When I decrypt "$before"
    Then it fails with KMSInvalidStateException "because the kmsuser is locked out"
    When I call GenerateDataKey with:
      | KeyId   | alias/app |
      | KeySpec | AES_256   |
    Then it fails with KMSInvalidStateException "because the kmsuser is locked out"
    # CreateKey in the store and GenerateRandom from it need kmsuser's session
    # too; neither lists KMSInvalidStateException (docs/fidelity.md I54).
    When I call CreateKey with:
      | Origin           | AWS_CLOUDHSM     |
      | CustomKeyStoreId | $ExampleKeyStore |
    Then it fails with CustomKeyStoreInvalidStateException "because the kmsuser is locked out"
    When I call GenerateRandom with:
      | NumberOfBytes    | 16               |
      | CustomKeyStoreId | $ExampleKeyStore |
    Then it fails with CustomKeyStoreInvalidStateException "because the kmsuser is locked out"
    # Retrying does not help: only a password change unlocks kmsuser.
    When I repeat 2 times:
      """
      When I wait 1 second
      And I encrypt "x" with "alias/app"
      Then it fails with KMSInvalidStateException "because the kmsuser is locked out"
      """

    # The repair the message names: disconnect, reset the kmsuser password,
    # update the store's password, reconnect.
    When I disconnect the custom key store "ExampleKeyStore"
    And I run "login --username admin --role admin --password adminPassword1" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "user change-password --username kmsuser --role crypto-user --password resetPass123" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "user list" on cluster "cluster-1a23b4cdefg" as "admin"
    Then the response has "data.users[1].locked" equal to the text "false"
    When I run "logout" on cluster "cluster-1a23b4cdefg" as "admin"
    And I tell the custom key store "ExampleKeyStore" that the kmsuser password is "resetPass123"
    Then it succeeds
    When I reconnect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And "$before" decrypts to "made before the lockout"
    When I encrypt "after the repair" with "alias/app"
    Then it succeeds
    When I call CreateKey with:
      | Origin           | AWS_CLOUDHSM     |
      | CustomKeyStoreId | $ExampleKeyStore |
    Then it succeeds
    When I call GenerateRandom with:
      | NumberOfBytes    | 16               |
      | CustomKeyStoreId | $ExampleKeyStore |
    Then it succeeds
