"""The GraphQL documents the adapter sends to the Admin and Storefront APIs.

Connection sizes keep one order's query well under Shopify's cost limit of 1,000.
"""

from __future__ import annotations

ADDRESS = """fragment Address on MailingAddress {
  id address1 address2 city provinceCode countryCodeV2 zip firstName lastName }"""
PAYMENT = """fragment Payment on OrderTransaction {
  kind status gateway amountSet { shopMoney { amount } }
  paymentDetails { ... on CardPaymentDetails { company number } } }"""
CUSTOMER = """fragment CustomerFields on Customer {
  id firstName lastName defaultEmailAddress { emailAddress } defaultAddress { ...Address }
  orders(first: 10, sortKey: PROCESSED_AT, reverse: true) {
    nodes { name transactions(first: 3) { ...Payment } } } }"""
PRODUCT = """fragment ProductFields on Product {
  id title
  variants(first: 100) {
    nodes { id price availableForSale selectedOptions { name value } } } }"""
ORDER = """fragment OrderFields on Order {
  id name cancelledAt cancelReason cancellation { staffNote } displayFulfillmentStatus
  customer { id }
  shippingAddress { ...Address }
  lineItems(first: 30) {
    nodes { id title quantity originalUnitPriceSet { shopMoney { amount } }
      variant { id selectedOptions { name value } product { id } } } }
  fulfillments(first: 3) {
    displayStatus trackingInfo(first: 3) { number }
    fulfillmentLineItems(first: 20) { nodes { id quantity lineItem { id } } } }
  transactions(first: 10) { ...Payment }
  returns(first: 3) {
    nodes { id status returnLineItems(first: 10) {
      nodes { quantity customerNote
        ... on ReturnLineItem { fulfillmentLineItem { id lineItem { id } } } } } } } }"""
CUSTOMER_PARTS = f"{CUSTOMER}\n{ADDRESS}\n{PAYMENT}"
ORDER_PARTS = f"{ORDER}\n{ADDRESS}\n{PAYMENT}"

FIND_CUSTOMERS = """query FindCustomers($query: String!) {
  customers(first: 10, query: $query) {
    nodes { id firstName lastName defaultEmailAddress { emailAddress }
      defaultAddress { zip } } } }"""
GET_CUSTOMER = (
    "query GetCustomer($id: ID!) { customer(id: $id) { ...CustomerFields } }\n" + CUSTOMER_PARTS
)
FIND_ORDER = (
    "query FindOrder($query: String!) {\n"
    "  orders(first: 5, query: $query) { nodes { ...OrderFields } } }\n" + ORDER_PARTS
)
GET_PRODUCT = "query GetProduct($id: ID!) { product(id: $id) { ...ProductFields } }\n" + PRODUCT
PRODUCT_OF_VARIANT = (
    """query ProductOfVariant($id: ID!) {
  productVariant(id: $id) { product { ...ProductFields } } }
"""
    + PRODUCT
)
ORDER_CANCEL = """mutation OrderCancel($orderId: ID!, $reason: OrderCancelReason!,
    $refundMethod: OrderCancelRefundMethodInput!, $restock: Boolean!, $notifyCustomer: Boolean,
    $staffNote: String) {
  orderCancel(orderId: $orderId, reason: $reason, refundMethod: $refundMethod, restock: $restock,
      notifyCustomer: $notifyCustomer, staffNote: $staffNote) {
    job { id done }
    orderCancelUserErrors { field message code } } }"""
JOB = "query Job($id: ID!) { job(id: $id) { id done } }"
ORDER_UPDATE = (
    """mutation OrderUpdate($input: OrderInput!) {
  orderUpdate(input: $input) { order { ...OrderFields } userErrors { field message } } }
"""
    + ORDER_PARTS
)
RETURN_REQUEST = """mutation ReturnRequest($input: ReturnRequestInput!) {
  returnRequest(input: $input) { return { id status } userErrors { field message code } } }"""
ADDRESS_UPDATE = """mutation CustomerAddressUpdate($customerId: ID!, $addressId: ID!,
    $address: MailingAddressInput!, $setAsDefault: Boolean) {
  customerAddressUpdate(customerId: $customerId, addressId: $addressId, address: $address,
      setAsDefault: $setAsDefault) { address { id } userErrors { field message } } }"""
ADDRESS_CREATE = """mutation CustomerAddressCreate($customerId: ID!, $address: MailingAddressInput!,
    $setAsDefault: Boolean) {
  customerAddressCreate(customerId: $customerId, address: $address, setAsDefault: $setAsDefault) {
    address { id } userErrors { field message } } }"""
CUSTOMER_RECOVER = """mutation CustomerRecover($email: String!) {
  customerRecover(email: $email) { customerUserErrors { code field message } } }"""
