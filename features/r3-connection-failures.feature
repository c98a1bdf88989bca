@R3
Feature: R3. Connection failures
  docs/runbooks.md, R3 (translated from scenarios/r3-connection-failures.runbook
  and scenarios/r3-connection-error-codes.runbook). A connect attempt that fails
  moves ConnectionState to FAILED, and DescribeCustomKeyStores then carries
  ConnectionErrorCode. Configuration errors that are easy to detect fail
  ConnectCustomKeyStore at once with an exception that says why, and the store
  stays DISCONNECTED. A FAILED store cannot be connected: disconnect it, fix the
  cause, update the store if needed, connect again.

  Every ConnectionErrorCode of a CloudHSM key store is produced below by its
  documented cause: the three whose cause is one CloudHSM CLI command line in
  one outline, the others in a scenario each.

  Scenario: a failed connect ends FAILED with a ConnectionErrorCode; FAILED cannot be connected; disconnect, fix, connect
    Given the world "../scenarios/worlds/example.yaml"
    When I disconnect the custom key store "ExampleKeyStore"
    Then the ConnectionState of "ExampleKeyStore" is DISCONNECTED
    And "ExampleKeyStore" has no ConnectionErrorCode

    # Egress blocked: the attempt is accepted, and fails as it completes.
    When the network to cluster "cluster-1a23b4cdefg" is blocked
    And I connect the custom key store "ExampleKeyStore"
    Then it succeeds
    And the ConnectionState of "ExampleKeyStore" is CONNECTING
    And "ExampleKeyStore" has no ConnectionErrorCode
    When the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is FAILED
    And the ConnectionErrorCode of "ExampleKeyStore" is NETWORK_ERRORS
    And the KeyState of "alias/app" is Unavailable

    # A FAILED store cannot be connected, even once the cause is gone.
    When I connect the custom key store "ExampleKeyStore"
    Then it fails with CustomKeyStoreInvalidStateException "FAILED"
    When the network to cluster "cluster-1a23b4cdefg" is restored
    And I connect the custom key store "ExampleKeyStore"
    Then it fails with CustomKeyStoreInvalidStateException "FAILED"
    When pending work settles
    Then the ConnectionState of "ExampleKeyStore" is FAILED
    And the ConnectionErrorCode of "ExampleKeyStore" is NETWORK_ERRORS

    # Disconnect first: DISCONNECTED, and the code is gone. Then connect.
    When I disconnect the custom key store "ExampleKeyStore"
    Then it succeeds
    And the ConnectionState of "ExampleKeyStore" is DISCONNECTED
    And "ExampleKeyStore" has no ConnectionErrorCode
    When I connect the custom key store "ExampleKeyStore"
    Then it succeeds
    And the ConnectionState of "ExampleKeyStore" is CONNECTING
    When the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And "ExampleKeyStore" has no ConnectionErrorCode
    And the KeyState of "alias/app" is Enabled
    When I encrypt "connected again" with "alias/app"
    Then it succeeds

  @R5
  Scenario: a FAILED store is updated only after the disconnect: the repair of a wrong password
    Given the world "../scenarios/worlds/example.yaml"

    # KMS is told a password that is not kmsuser's: the attempt ends FAILED.
    When I disconnect the custom key store "ExampleKeyStore"
    And I tell the custom key store "ExampleKeyStore" that the kmsuser password is "notThePassword1"
    Then it succeeds
    When I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is FAILED
    And the ConnectionErrorCode of "ExampleKeyStore" is INVALID_CREDENTIALS

    # Set a known password in the cluster (kmsuser is not logged in: the store
    # is not connected).
    When an admin sets kmsuser's password on cluster "cluster-1a23b4cdefg" to "knownPass123"

    # Updating the password needs DISCONNECTED, not FAILED.
    And I tell the custom key store "ExampleKeyStore" that the kmsuser password is "knownPass123"
    Then it fails with CustomKeyStoreInvalidStateException "FAILED"
    When I disconnect the custom key store "ExampleKeyStore"
    And I tell the custom key store "ExampleKeyStore" that the kmsuser password is "knownPass123"
    Then it succeeds
    When I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    When I encrypt "x" with "alias/app"
    Then it succeeds

  Scenario: a configuration error fails ConnectCustomKeyStore at once and the store stays DISCONNECTED
    Given the world "../scenarios/worlds/example.yaml"
    When I disconnect the custom key store "ExampleKeyStore"
    # The cluster security group loses its TCP 2223-2225 rule.
    And the security group of cluster "cluster-1a23b4cdefg" is broken
    And I connect the custom key store "ExampleKeyStore"
    Then it fails with CloudHsmClusterInvalidConfigurationException "2223-2225"
    # No attempt was started: still DISCONNECTED, with no error code, and
    # nothing changes as time passes.
    And the ConnectionState of "ExampleKeyStore" is DISCONNECTED
    And "ExampleKeyStore" has no ConnectionErrorCode
    When pending work settles
    Then the ConnectionState of "ExampleKeyStore" is DISCONNECTED

    # Fix the rule, then connect: no disconnect is needed.
    When the security group of cluster "cluster-1a23b4cdefg" is mended
    And I connect the custom key store "ExampleKeyStore"
    Then it succeeds
    When the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED

  @R9
  Scenario: CONNECTING is visible until the attempt completes
    Given the world "../scenarios/worlds/example.yaml"
    When I disconnect the custom key store "ExampleKeyStore"
    And I connect the custom key store "ExampleKeyStore"
    Then it succeeds
    # The first answer says nothing about success.
    And the ConnectionState of "ExampleKeyStore" is CONNECTING
    And the KeyState of "alias/app" is Unavailable
    And encrypting with "alias/app" fails with KMSInvalidStateException "is unavailable."
    # Connecting a CONNECTING store is allowed and changes nothing.
    When I connect the custom key store "ExampleKeyStore"
    Then it succeeds
    And the ConnectionState of "ExampleKeyStore" is CONNECTING
    # An attempt takes 2 s of virtual time in this world (docs/fidelity.md I15).
    When I wait 1 second
    Then the ConnectionState of "ExampleKeyStore" is CONNECTING
    When I wait 1 second
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And the KeyState of "alias/app" is Enabled
    # Connecting a CONNECTED store is allowed too.
    When I connect the custom key store "ExampleKeyStore"
    Then it succeeds
    And the ConnectionState of "ExampleKeyStore" is CONNECTED

  # --- One ConnectionErrorCode each, by its documented cause ---------------

  Scenario Outline: <code>: one CloudHSM CLI command line, then the connect ends FAILED
    # kmsuser must own no key for an admin to delete it: a store without keys.
    Given the world:
      """
      seed: 3
      account: "111122223333"
      region: us-west-2
      clusters:
        - id: cluster-2b3c4d5e6f7
          availability_zones: [us-west-2a, us-west-2b]
          hsms: [us-west-2a, us-west-2b]
      custom_key_stores:
        - id: cks-0123456789abcdef0
          name: EmptyStore
          cluster: cluster-2b3c4d5e6f7
          connected: true
      """
    # KMS and the cluster agree on a password the operator knows.
    When I disconnect the custom key store "EmptyStore"
    And I run "login --username admin --role admin --password adminPassword1" on cluster "cluster-2b3c4d5e6f7" as "admin"
    And I run "user change-password --username kmsuser --role crypto-user --password knownPass123" on cluster "cluster-2b3c4d5e6f7" as "admin"
    And I tell the custom key store "EmptyStore" that the kmsuser password is "knownPass123"
    # The cause.
    And I run "<command line>" on cluster "cluster-2b3c4d5e6f7" as "<session>"
    Then the response has "error_code" equal to "0"
    When I run "logout" on cluster "cluster-2b3c4d5e6f7" as "admin"
    And I connect the custom key store "EmptyStore"
    Then it succeeds
    When the connection attempt completes
    Then the ConnectionState of "EmptyStore" is FAILED
    And the ConnectionErrorCode of "EmptyStore" is <code>

    Examples:
      | code                | session | command line                                                                       |
      | INVALID_CREDENTIALS | admin   | user change-password --username kmsuser --role crypto-user --password changedPass1 |
      | USER_NOT_FOUND      | admin   | user delete --username kmsuser --role crypto-user                                  |
      | USER_LOGGED_IN      | ops     | login --username kmsuser --role crypto-user --password knownPass123                |

  Scenario: CLUSTER_NOT_FOUND: the cluster was deleted
    Given the world "../scenarios/worlds/example.yaml"
    When I disconnect the custom key store "ExampleKeyStore"
    And cluster "cluster-1a23b4cdefg" is deleted
    And I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    Then the response has "Clusters[0].State" equal to "DELETED"
    When I connect the custom key store "ExampleKeyStore"
    Then it succeeds
    When the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is FAILED
    And the ConnectionErrorCode of "ExampleKeyStore" is CLUSTER_NOT_FOUND
    And the KeyState of "alias/app" is Unavailable

  @R2
  Scenario: INSUFFICIENT_CLOUDHSM_HSMS: the cluster has no active HSM; CreateHsm fixes it
    Given the world "../scenarios/worlds/example.yaml"
    When I disconnect the custom key store "ExampleKeyStore"
    And every HSM of cluster "cluster-1a23b4cdefg" is deleted
    And I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    Then the response has "Clusters[0].Hsms" equal to "[]"
    # Judged when the attempt completes, not at the call
    # (docs/fidelity.md I3).
    When I connect the custom key store "ExampleKeyStore"
    Then it succeeds
    When the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is FAILED
    And the ConnectionErrorCode of "ExampleKeyStore" is INSUFFICIENT_CLOUDHSM_HSMS

    # Fix: one active HSM is enough to connect.
    When I call CreateHsm with:
      | ClusterId        | cluster-1a23b4cdefg |
      | AvailabilityZone | us-west-2a          |
    Then it succeeds
    When pending work settles
    And I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    Then the response has "Clusters[0].Hsms[0].State" equal to "ACTIVE"
    When I disconnect the custom key store "ExampleKeyStore"
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    When I encrypt "x" with "alias/app"
    Then it succeeds

  Scenario: INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET: a cluster subnet has no free address; freeing some fixes it
    Given the world "../scenarios/worlds/example.yaml"
    When I disconnect the custom key store "ExampleKeyStore"
    And I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    And I remember "Clusters[0].SubnetMapping."us-west-2a"" of the response as "subnet"
    # KMS needs one free address in each subnet for its network interface.
    And subnet "$subnet" has 0 free addresses
    And I connect the custom key store "ExampleKeyStore"
    Then it succeeds
    When the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is FAILED
    And the ConnectionErrorCode of "ExampleKeyStore" is INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET

    # Fix: free addresses (two are preferable), disconnect, connect.
    When subnet "$subnet" has 2 free addresses
    And I disconnect the custom key store "ExampleKeyStore"
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED

  Scenario: INTERNAL_ERROR: KMS failed internally; disconnect and connect again
    Given the world "../scenarios/worlds/example.yaml"
    When I disconnect the custom key store "ExampleKeyStore"
    And the next 1 connects to cluster "cluster-1a23b4cdefg" fail internally
    And I connect the custom key store "ExampleKeyStore"
    Then it succeeds
    When the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is FAILED
    And the ConnectionErrorCode of "ExampleKeyStore" is INTERNAL_ERROR

    # Transient: retry, disconnecting first.
    When I disconnect the custom key store "ExampleKeyStore"
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED

  @R4
  Scenario: NETWORK_ERRORS: the network path to the cluster is cut; restore it and reconnect
    Given the world "../scenarios/worlds/example.yaml"
    When I disconnect the custom key store "ExampleKeyStore"
    And the network to cluster "cluster-1a23b4cdefg" is blocked
    And I connect the custom key store "ExampleKeyStore"
    Then it succeeds
    When the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is FAILED
    And the ConnectionErrorCode of "ExampleKeyStore" is NETWORK_ERRORS

    When the network to cluster "cluster-1a23b4cdefg" is restored
    And I disconnect the custom key store "ExampleKeyStore"
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED

  Scenario: NETWORK_ERRORS: the security group breaks while the store is CONNECTING
    Given the world "../scenarios/worlds/example.yaml"
    # Broken before the call, the rule fails the call at once (above); broken
    # during the attempt, it ends the attempt with NETWORK_ERRORS.
    When I disconnect the custom key store "ExampleKeyStore"
    And I connect the custom key store "ExampleKeyStore"
    Then it succeeds
    When the security group of cluster "cluster-1a23b4cdefg" is broken
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is FAILED
    And the ConnectionErrorCode of "ExampleKeyStore" is NETWORK_ERRORS

    When the security group of cluster "cluster-1a23b4cdefg" is mended
    And I disconnect the custom key store "ExampleKeyStore"
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED

  Scenario: SUBNET_NOT_FOUND: a cluster subnet was deleted
    Given the world "../scenarios/worlds/example.yaml"
    When I disconnect the custom key store "ExampleKeyStore"
    And I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    And I remember "Clusters[0].SubnetMapping."us-west-2b"" of the response as "subnet"
    And subnet "$subnet" is deleted
    And I connect the custom key store "ExampleKeyStore"
    Then it succeeds
    When the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is FAILED
    And the ConnectionErrorCode of "ExampleKeyStore" is SUBNET_NOT_FOUND

  @R5
  Scenario: USER_LOCKED_OUT: five wrong passwords lock kmsuser; a password change unlocks it
    Given the world "../scenarios/worlds/example.yaml"
    When I disconnect the custom key store "ExampleKeyStore"
    And kmsuser is locked out of cluster "cluster-1a23b4cdefg"
    And I connect the custom key store "ExampleKeyStore"
    Then it succeeds
    When the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is FAILED
    And the ConnectionErrorCode of "ExampleKeyStore" is USER_LOCKED_OUT

    # Fix (R5): only a password change unlocks kmsuser; then tell KMS.
    When I disconnect the custom key store "ExampleKeyStore"
    And an admin sets kmsuser's password on cluster "cluster-1a23b4cdefg" to "unlockPass123"
    And I tell the custom key store "ExampleKeyStore" that the kmsuser password is "unlockPass123"
    Then it succeeds
    When I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED

  Scenario: USER_NOT_FOUND: an admin deleted kmsuser; create it again and tell KMS its password
    # kmsuser must own no key for an admin to delete it: a store without keys.
    Given the world:
      """
      seed: 3
      account: "111122223333"
      region: us-west-2
      clusters:
        - id: cluster-2b3c4d5e6f7
          availability_zones: [us-west-2a, us-west-2b]
          hsms: [us-west-2a, us-west-2b]
      custom_key_stores:
        - id: cks-0123456789abcdef0
          name: EmptyStore
          cluster: cluster-2b3c4d5e6f7
          connected: true
      """
    Then the ConnectionState of "EmptyStore" is CONNECTED
    When I disconnect the custom key store "EmptyStore"
    And I run "login --username admin --role admin --password adminPassword1" on cluster "cluster-2b3c4d5e6f7" as "admin"
    And I run "user delete --username kmsuser --role crypto-user" on cluster "cluster-2b3c4d5e6f7" as "admin"
    Then the response has "data.username" equal to "kmsuser"
    When I run "user list" on cluster "cluster-2b3c4d5e6f7" as "admin"
    Then the response has no "data.users[1]"
    When I connect the custom key store "EmptyStore"
    Then it succeeds
    When the connection attempt completes
    Then the ConnectionState of "EmptyStore" is FAILED
    And the ConnectionErrorCode of "EmptyStore" is USER_NOT_FOUND

    # Fix: a new kmsuser crypto user, and its password in the store.
    When I run "user create --username kmsuser --role crypto-user --password newKmsUser1" on cluster "cluster-2b3c4d5e6f7" as "admin"
    And I run "logout" on cluster "cluster-2b3c4d5e6f7" as "admin"
    And I disconnect the custom key store "EmptyStore"
    And I tell the custom key store "EmptyStore" that the kmsuser password is "newKmsUser1"
    Then it succeeds
    When I connect the custom key store "EmptyStore"
    And the connection attempt completes
    Then the ConnectionState of "EmptyStore" is CONNECTED
    When I call CreateKey with:
      | CustomKeyStoreId | $EmptyStore  |
      | Origin           | AWS_CLOUDHSM |
    And I remember "KeyMetadata.KeyId" of the response as "key"
    Then the KeyState of "$key" is Enabled
