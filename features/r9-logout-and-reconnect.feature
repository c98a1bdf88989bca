@R9
Feature: R9. Logging out and reconnecting
  docs/runbooks.md, R9 (translated from scenarios/r9-logout-and-reconnect.runbook).
  After working as kmsuser: logout (a kmsuser left logged in makes the
  reconnect fail with USER_LOGGED_IN); UpdateCustomKeyStore KeyStorePassword
  with the current password; ConnectCustomKeyStore, which returns at once and
  says nothing about success, because connecting takes time; during the
  attempt KMS rotates kmsuser's password to a value only it knows; then
  DescribeCustomKeyStores until ConnectionState is CONNECTED.

  Background:
    Given the world "../scenarios/worlds/example.yaml"

  @R3
  Scenario: a forgotten kmsuser logout fails the reconnect with USER_LOGGED_IN
    When I encrypt "before" with "alias/app" as "before"
    And I disconnect the custom key store "ExampleKeyStore"
    And an admin sets kmsuser's password on cluster "cluster-1a23b4cdefg" to "newPass123"
    And I run "login --username kmsuser --role crypto-user --password newPass123" on cluster "cluster-1a23b4cdefg" as "kms"
    And I run "key list" on cluster "cluster-1a23b4cdefg" as "kms"
    # ... and the operator forgets logout.
    And I tell the custom key store "ExampleKeyStore" that the kmsuser password is "newPass123"
    And I reconnect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is FAILED
    And the ConnectionErrorCode of "ExampleKeyStore" is USER_LOGGED_IN
    And encrypting with "alias/app" fails with KMSInvalidStateException "is unavailable."

    # The fix: log out, disconnect the FAILED store (it cannot be connected
    # as it is, R3), connect again.
    When I run "logout" on cluster "cluster-1a23b4cdefg" as "kms"
    Then the response has "data" equal to "Logout successful"
    When I reconnect the custom key store "ExampleKeyStore"
    Then it fails with CustomKeyStoreInvalidStateException
    When I disconnect the custom key store "ExampleKeyStore"
    Then the ConnectionState of "ExampleKeyStore" is DISCONNECTED
    And "ExampleKeyStore" has no ConnectionErrorCode
    When I reconnect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And "$before" decrypts to "before"

  Scenario: ConnectCustomKeyStore returns at once; the store is CONNECTING until the attempt completes
    When I disconnect the custom key store "ExampleKeyStore"
    # The answer is an empty object: it says nothing about success.
    And I call ConnectCustomKeyStore with:
      | CustomKeyStoreId | $ExampleKeyStore |
    Then it succeeds
    And the response has no "ConnectionState"
    And the ConnectionState of "ExampleKeyStore" is CONNECTING
    # Keys cannot be used yet.
    And encrypting with "alias/app" fails with KMSInvalidStateException "is unavailable."
    When I wait 1 second
    Then the ConnectionState of "ExampleKeyStore" is CONNECTING
    # Connecting again while CONNECTING is accepted and changes nothing.
    When I reconnect the custom key store "ExampleKeyStore"
    Then it succeeds
    When the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    When I encrypt "connected" with "alias/app"
    Then it succeeds

  Scenario: poll DescribeCustomKeyStores until the store is CONNECTED
    When I disconnect the custom key store "ExampleKeyStore"
    And I reconnect the custom key store "ExampleKeyStore"
    # No settle: polling lets virtual time pass between attempts (the SDKs'
    # backoff: a seeded random wait of up to 1 s, 2 s, 4 s, …) until the
    # attempt (2 s in this world) has completed.
    And I retry up to 5 times every 1 second: the ConnectionState of "ExampleKeyStore" is CONNECTED
    And I encrypt "connected" with "alias/app"
    Then it succeeds

  @R8
  Scenario: connecting rotates kmsuser's password: the one the operator set stops working
    When I disconnect the custom key store "ExampleKeyStore"
    And an admin sets kmsuser's password on cluster "cluster-1a23b4cdefg" to "newPass123"
    # Before the reconnect, the password works.
    And I run "login --username kmsuser --role crypto-user --password newPass123" on cluster "cluster-1a23b4cdefg" as "kms"
    And I run "logout" on cluster "cluster-1a23b4cdefg" as "kms"
    And I tell the custom key store "ExampleKeyStore" that the kmsuser password is "newPass123"
    And I reconnect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED

    # After it, only KMS knows the password, even once disconnected again.
    When I disconnect the custom key store "ExampleKeyStore"
    And I run "login --username kmsuser --role crypto-user --password newPass123" on cluster "cluster-1a23b4cdefg" as "kms"
    Then the CloudHSM CLI reports an error containing "Invalid username or password"
    # KMS itself still gets in.
    When I reconnect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED

  @R5
  Scenario: a failed connect does not rotate the password
    When I disconnect the custom key store "ExampleKeyStore"
    And an admin sets kmsuser's password on cluster "cluster-1a23b4cdefg" to "newPass123"
    # UpdateCustomKeyStore must carry the current password; a wrong one fails.
    And I tell the custom key store "ExampleKeyStore" that the kmsuser password is "notThePassword1"
    And I reconnect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is FAILED
    And the ConnectionErrorCode of "ExampleKeyStore" is INVALID_CREDENTIALS
    When I run "login --username kmsuser --role crypto-user --password newPass123" on cluster "cluster-1a23b4cdefg" as "kms"
    Then the response has "error_code" equal to "0"
    When I run "logout" on cluster "cluster-1a23b4cdefg" as "kms"

    # With the current password, the reconnect succeeds.
    And I disconnect the custom key store "ExampleKeyStore"
    And I tell the custom key store "ExampleKeyStore" that the kmsuser password is "newPass123"
    And I reconnect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
