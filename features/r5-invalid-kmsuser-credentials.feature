@R5
Feature: R5. Invalid kmsuser credentials
  docs/runbooks.md, R5; mirrors scenarios/r5-invalid-kmsuser-credentials.runbook
  block by block. While connected, KMS stays logged in to the cluster as the
  kmsuser crypto user. Five wrong passwords lock kmsuser; a password changed
  behind KMS's back makes every connect fail. The repair: disconnect, read the
  code, reset the password as admin, tell KMS, reconnect.

  @kmsuser
  Scenario: five wrong passwords lock kmsuser; the repair reconnects
    Given the world "../scenarios/worlds/example.yaml"

    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    When I encrypt "made before the incident" with "alias/app" as "before"

    When I disconnect the custom key store "ExampleKeyStore"
    And kmsuser is locked out of cluster "cluster-1a23b4cdefg"
    And I run "user list" on cluster "cluster-1a23b4cdefg" as "intruder"
    Then the response has "data.users[1].locked" equal to the text "true"

    When I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is FAILED
    And the ConnectionErrorCode of "ExampleKeyStore" is USER_LOCKED_OUT
    When I encrypt "x" with "alias/app"
    Then it fails with KMSInvalidStateException "is unavailable."

    # Repair (R5, R8, R9).
    When I disconnect the custom key store "ExampleKeyStore"
    Then the ConnectionState of "ExampleKeyStore" is DISCONNECTED
    And "ExampleKeyStore" has no ConnectionErrorCode
    When I run "login --username admin --role admin --password adminPassword1" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "user change-password --username kmsuser --role crypto-user --password newPass123" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "logout" on cluster "cluster-1a23b4cdefg" as "admin"
    And I call UpdateCustomKeyStore with:
      | CustomKeyStoreId | $ExampleKeyStore |
      | KeyStorePassword | newPass123       |
    And I connect the custom key store "ExampleKeyStore"
    Then the ConnectionState of "ExampleKeyStore" is CONNECTING
    When the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And "$before" decrypts to "made before the incident"

  Scenario: a password changed while disconnected gives INVALID_CREDENTIALS
    Given the world "../scenarios/worlds/example.yaml"

    When I disconnect the custom key store "ExampleKeyStore"
    And I run "login --username admin --role admin --password adminPassword1" on cluster "cluster-1a23b4cdefg"
    And I run "user change-password --username kmsuser --role crypto-user --password changedPass1" on cluster "cluster-1a23b4cdefg"
    And I run "logout" on cluster "cluster-1a23b4cdefg"
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is FAILED
    And the ConnectionErrorCode of "ExampleKeyStore" is INVALID_CREDENTIALS
    # A FAILED store cannot be connected (R3): disconnect first.
    When I connect the custom key store "ExampleKeyStore"
    Then it fails with CustomKeyStoreInvalidStateException
    When I disconnect the custom key store "ExampleKeyStore"
    And I call UpdateCustomKeyStore with:
      | CustomKeyStoreId | $ExampleKeyStore |
      | KeyStorePassword | changedPass1     |
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
